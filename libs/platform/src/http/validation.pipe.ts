import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

export interface FieldError {
  field: string;
  errors: string[];
}

/** Flattens nested errors into dotted field paths, e.g. `context.ward`. */
export function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, errors: Object.values(error.constraints) }] : [];
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

/** The 400 body of the validation pipe, for checks a DTO cannot express (headers, path ids). */
export function invalidFields(fields: FieldError[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: `Invalid fields: ${fields.map((f) => f.field).join(', ')}`,
    fields,
  });
}

/** Strict input: unknown fields are refused, and the 400 names every field at fault. */
export function strictValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => invalidFields(fieldErrors(errors)),
  });
}
