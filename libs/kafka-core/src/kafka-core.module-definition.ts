import { ConfigurableModuleBuilder } from '@nestjs/common';
import { KafkaCoreModuleOptions } from './kafka-core.options';

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<KafkaCoreModuleOptions>().setClassMethodName('forRoot').build();
