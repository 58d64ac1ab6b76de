#!/usr/bin/env bash
# Entrypoint of the secure broker in docker-compose.secure.yml.
#
# The image's own entrypoint formats storage without SCRAM users, and on a KRaft node that only accepts
# SCRAM logins the users must be in the metadata from the start, so this script does it instead:
#   1. server.properties from the KAFKA_* environment, as the image would (KAFKA_FOO_BAR -> foo.bar,
#      __ -> _, ___ -> -), plus the keystore password read from its secret file;
#   2. a JAAS file with the admin login the broker uses on its own SASL_SSL listener (inter-broker);
#   3. on first start, `kafka-storage.sh format --add-scram` with every user of SCRAM_USERS, whose
#      passwords are the secret files kafka-password-<user>;
#   4. an admin client configuration for the healthcheck (kafka-broker-api-versions.sh --command-config).
# Passwords only go to files under RUNTIME_DIR (mode 0600) and to the format command; none is printed.
set -euo pipefail

KAFKA_HOME="${KAFKA_HOME:-/opt/kafka}"
SECRETS_DIR="${SECRETS_DIR:-/run/secrets}"
RUNTIME_DIR="${RUNTIME_DIR:-/tmp/kafka-secure}"
SCRAM_MECHANISM="${SCRAM_MECHANISM:-SCRAM-SHA-512}"
ADMIN_USER="${ADMIN_USER:-admin}"
KEYSTORE_PASSWORD_SECRET="${KEYSTORE_PASSWORD_SECRET:-kafka-broker-keystore-password}"

fail() {
  echo "kafka-secure: $*" >&2
  exit 1
}

: "${CLUSTER_ID:?CLUSTER_ID is required}"
: "${SCRAM_USERS:?SCRAM_USERS is required: the comma-separated SCRAM users to create at format time}"
: "${KAFKA_LOG_DIRS:?KAFKA_LOG_DIRS is required}"
: "${KAFKA_SSL_TRUSTSTORE_LOCATION:?KAFKA_SSL_TRUSTSTORE_LOCATION is required (the CA in PEM)}"

# The content of a secret file without its line end. Passwords go unquoted into --add-scram's
# [name=..,password=..] and quoted into JAAS and properties files, so only a safe alphabet is accepted
# (the generated passwords are base64url).
secret() {
  local file="$SECRETS_DIR/$1" value
  [[ -r "$file" ]] ||
    fail "cannot read $file; run docker/kafka-secure/prepare.sh (see the header of docker-compose.secure.yml)"
  value="$(tr -d '\r\n' <"$file")"
  [[ -n "$value" ]] || fail "$file is empty"
  [[ "$value" =~ ^[A-Za-z0-9._~+/=-]+$ ]] ||
    fail "$file holds characters other than letters, digits and ._~+/=-"
  printf '%s' "$value"
}

umask 077
mkdir -p "$RUNTIME_DIR"
props="$RUNTIME_DIR/server.properties"
jaas="$RUNTIME_DIR/kafka_server_jaas.conf"
client="$RUNTIME_DIR/admin-client.properties"

# Variables of the launch scripts and of this script, not broker settings.
not_a_setting=" KAFKA_HOME KAFKA_OPTS KAFKA_HEAP_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_GC_LOG_OPTS KAFKA_LOG4J_OPTS KAFKA_JMX_OPTS KAFKA_DEBUG KAFKA_VERSION "

keystore_password="$(secret "$KEYSTORE_PASSWORD_SECRET")"
{
  echo "# Written by docker/kafka-secure/broker.sh at every start; edits are lost."
  for name in $(compgen -e | grep '^KAFKA_' | sort); do
    [[ "$not_a_setting" == *" $name "* ]] && continue
    key="${name#KAFKA_}"
    key="${key,,}"
    key="${key//___/-}"
    key="${key//__/@}"
    key="${key//_/.}"
    key="${key//@/_}"
    printf '%s=%s\n' "$key" "${!name}"
  done
  printf 'ssl.keystore.password=%s\nssl.key.password=%s\n' "$keystore_password" "$keystore_password"
} >"$props"

admin_password="$(secret "kafka-password-$ADMIN_USER")"
login="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$ADMIN_USER\" password=\"$admin_password\";"
printf 'KafkaServer {\n  %s\n};\n' "$login" >"$jaas"
export KAFKA_OPTS="-Djava.security.auth.login.config=$jaas${KAFKA_OPTS:+ $KAFKA_OPTS}"

{
  echo "security.protocol=SASL_SSL"
  echo "sasl.mechanism=$SCRAM_MECHANISM"
  echo "sasl.jaas.config=$login"
  echo "ssl.truststore.type=PEM"
  echo "ssl.truststore.location=$KAFKA_SSL_TRUSTSTORE_LOCATION"
} >"$client"

# Which users, with which passwords, the storage was formatted with: sha256 of "<user>\0<password>" per
# user, so a password regenerated since then is named as the reason logins fail.
scram_args=()
fingerprints=""
IFS=',' read -r -a users <<<"$SCRAM_USERS"
for user in "${users[@]}"; do
  [[ "$user" =~ ^[A-Za-z0-9._-]+$ ]] || fail "\"$user\" in SCRAM_USERS is not a valid user name"
  password="$(secret "kafka-password-$user")"
  scram_args+=(--add-scram "$SCRAM_MECHANISM=[name=$user,password=$password]")
  fingerprints+="$user $(printf '%s\0%s' "$user" "$password" | sha256sum | cut -d' ' -f1)"$'\n'
done

data_dir="${KAFKA_LOG_DIRS%%,*}"
users_file="$data_dir/scram-users.sha256"
volume_hint="remove the volume with 'docker compose -f docker-compose.yml -f docker-compose.secure.yml down -v' (topics start empty)"
if [[ -f "$data_dir/meta.properties" ]]; then
  [[ -f "$users_file" ]] ||
    fail "$data_dir was formatted without SCRAM users, so nobody could log in; $volume_hint"
  [[ "$(cat "$users_file")" == "${fingerprints%$'\n'}" ]] ||
    fail "the SCRAM users or their passwords changed since $data_dir was formatted; $volume_hint"
else
  echo "kafka-secure: formatting $data_dir with SCRAM users ${SCRAM_USERS}"
  "$KAFKA_HOME/bin/kafka-storage.sh" format -t "$CLUSTER_ID" -c "$props" "${scram_args[@]}"
  printf '%s' "$fingerprints" >"$users_file"
fi
unset password admin_password keystore_password login scram_args

export LOG_DIR="${LOG_DIR:-$RUNTIME_DIR/logs}"
exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$props"
