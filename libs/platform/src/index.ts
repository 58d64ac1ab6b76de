export * from './config/service-env';
export * from './config/service-config';
export { PlatformModule, PlatformOptions } from './platform.module';
export { configureApp, runService, ServiceModuleFactory } from './bootstrap';
export { PageQuery } from './http/page-query';
export { strictValidationPipe, fieldErrors, FieldError, invalidFields } from './http/validation.pipe';
export {
  ACTOR_HEADER,
  CORRELATION_HEADER,
  elapsedMs,
  headerValue,
  Meta,
  RequestMeta,
  requestMeta,
  uuidParam,
} from './http/request';
export { DatabaseHealthIndicator } from './health/database.health';
