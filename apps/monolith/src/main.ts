import 'reflect-metadata';
import { runService } from '@app/platform';
import { MonolithModule } from './monolith.module';

void runService('monolith', MonolithModule);
