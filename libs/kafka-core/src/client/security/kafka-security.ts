/** How a client reaches the brokers: Kafka's `security.protocol` values. */
export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** Kafka's `sasl.mechanism` values this client speaks (GSSAPI/Kerberos is not supported by kafkajs). */
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * TLS to the brokers. Certificates are always verified against `ca` (or the system's trusted CAs when
 * absent) and the broker's host name; there is no switch to turn verification off.
 */
export interface KafkaTlsOptions {
  /** PEM CA bundle that signed the brokers' certificates; absent: the system's trusted CAs. */
  ca?: string;
  /** PEM client certificate and key, for mutual TLS (`ssl.client.auth=required` on the broker). */
  cert?: string;
  key?: string;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Host name checked against the broker's certificate when it differs from the address dialled. */
  servername?: string;
}

/** An OAuth bearer token for the broker, e.g. from an OIDC client-credentials grant. */
export interface OauthBearerToken {
  value: string;
}

export type KafkaSaslOptions =
  | { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  | {
      mechanism: 'OAUTHBEARER';
      /** Called for every (re-)authentication; cache the token and refresh it before it expires. */
      tokenProvider: () => Promise<OauthBearerToken>;
      /** Who the token stands for, only for error messages (e.g. the OIDC client id). */
      principal?: string;
    };

/** Spring's `spring.kafka.security.*` / `ssl.*` / `sasl.*` in one object; absent means PLAINTEXT. */
export interface KafkaSecurityOptions {
  protocol: SecurityProtocol;
  tls?: KafkaTlsOptions;
  sasl?: KafkaSaslOptions;
  /**
   * Re-authenticate this long before the broker's session lifetime (`connections.max.reauth.ms`)
   * ends, in ms. Default 10000.
   */
  reauthenticationThresholdMs?: number;
}

export const usesTls = (security?: KafkaSecurityOptions): boolean =>
  security?.protocol === 'SSL' || security?.protocol === 'SASL_SSL';

/** The principal's name as the broker knows it, for messages; never a secret. */
export function principalOf(security?: KafkaSecurityOptions): string {
  const sasl = security?.sasl;
  if (!sasl) return usesTls(security) && security?.tls?.cert ? 'the client certificate' : 'ANONYMOUS';
  if (sasl.mechanism === 'OAUTHBEARER') return sasl.principal ?? 'the OAUTHBEARER token';
  return sasl.username;
}

/** One line for logs and health: protocol, mechanism and principal, nothing secret. */
export function describeSecurity(security?: KafkaSecurityOptions): string {
  if (!security || security.protocol === 'PLAINTEXT') return 'PLAINTEXT';
  const sasl = security.sasl ? ` ${security.sasl.mechanism} as ${principalOf(security)}` : '';
  const mtls = usesTls(security) && security.tls?.cert ? ' with a client certificate' : '';
  return `${security.protocol}${sasl}${mtls}`;
}
