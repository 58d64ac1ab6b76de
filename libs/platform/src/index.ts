export * from './config/service-env';
export * from './config/service-config';
export { PlatformModule, PlatformOptions } from './platform.module';
export { configureApp, runService, ServiceModuleFactory } from './bootstrap';
export { strictValidationPipe, fieldErrors, FieldError } from './http/validation.pipe';
export { DatabaseHealthIndicator } from './health/database.health';
