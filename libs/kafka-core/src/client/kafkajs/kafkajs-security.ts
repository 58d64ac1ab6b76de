import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { KafkaSecurityOptions, usesTls } from '../security/kafka-security';
import { oauthBearerAuthenticator } from './kafkajs-oauthbearer';

/** kafkajs' `ssl`, `sasl` and re-authentication settings for the configured security. */
export function kafkajsSecurity(
  security?: KafkaSecurityOptions,
): Pick<KafkaConfig, 'ssl' | 'sasl' | 'reauthenticationThreshold'> {
  if (!security || security.protocol === 'PLAINTEXT') return {};
  const config: Pick<KafkaConfig, 'ssl' | 'sasl' | 'reauthenticationThreshold'> = {};
  if (usesTls(security)) {
    const { ca, cert, key, passphrase, servername } = security.tls ?? {};
    // Verification stays Node's default (on); only what was configured is passed.
    config.ssl = {
      rejectUnauthorized: true,
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(passphrase ? { passphrase } : {}),
      ...(servername ? { servername } : {}),
    };
  }
  const sasl = security.sasl;
  if (sasl) {
    config.sasl =
      sasl.mechanism === 'OAUTHBEARER'
        ? ({
            mechanism: 'oauthbearer',
            oauthBearerProvider: sasl.tokenProvider,
            authenticationProvider: oauthBearerAuthenticator(sasl.tokenProvider),
          } as SASLOptions)
        : ({
            mechanism: sasl.mechanism.toLowerCase(),
            username: sasl.username,
            password: sasl.password,
          } as SASLOptions);
    config.reauthenticationThreshold = security.reauthenticationThresholdMs ?? 10_000;
  }
  return config;
}
