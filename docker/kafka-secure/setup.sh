#!/usr/bin/env bash
# The kafka-setup job of docker-compose.secure.yml: as the admin user, creates the topics and grants the
# ACLs of provision.txt (generated from the topic table by generate-provision.js). Services have no
# CREATE permission, so compose starts them only once this has succeeded.
# Runs on every `up` and only adds what is missing: one listing of topics and one of ACLs when nothing is.
# Grants removed from the topic table are not revoked here; `down -v` starts from an empty broker.
set -euo pipefail

KAFKA_HOME="${KAFKA_HOME:-/opt/kafka}"
RUNTIME_DIR="${RUNTIME_DIR:-/tmp/kafka-setup}"
PROVISION_FILE="${PROVISION_FILE:-/opt/kafka-secure/provision.txt}"
SCRAM_MECHANISM="${SCRAM_MECHANISM:-SCRAM-SHA-512}"
: "${SETUP_BOOTSTRAP_SERVER:?SETUP_BOOTSTRAP_SERVER is required}"
: "${SETUP_USER:?SETUP_USER is required}"
: "${SETUP_PASSWORD_FILE:?SETUP_PASSWORD_FILE is required}"
: "${SETUP_CA_FILE:?SETUP_CA_FILE is required}"
: "${SETUP_REPLICATION_FACTOR:=1}"
# The command-line tools are short-lived JVMs: a small heap and no optimising compiler start faster.
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx256m}"
export KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"

fail() {
  echo "kafka-setup: $*" >&2
  exit 1
}

[[ -r "$SETUP_PASSWORD_FILE" ]] || fail "cannot read $SETUP_PASSWORD_FILE (the password of $SETUP_USER); run docker/kafka-secure/prepare.sh"
password="$(tr -d '\r\n' <"$SETUP_PASSWORD_FILE")"
[[ "$password" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || fail "$SETUP_PASSWORD_FILE is empty or holds unexpected characters"
umask 077
mkdir -p "$RUNTIME_DIR"
client="$RUNTIME_DIR/client.properties"
{
  echo "security.protocol=SASL_SSL"
  echo "sasl.mechanism=$SCRAM_MECHANISM"
  echo "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$SETUP_USER\" password=\"$password\";"
  echo "ssl.truststore.type=PEM"
  echo "ssl.truststore.location=$SETUP_CA_FILE"
} >"$client"
unset password

topics() { "$KAFKA_HOME/bin/kafka-topics.sh" --bootstrap-server "$SETUP_BOOTSTRAP_SERVER" --command-config "$client" "$@" </dev/null; }
acls() { "$KAFKA_HOME/bin/kafka-acls.sh" --bootstrap-server "$SETUP_BOOTSTRAP_SERVER" --command-config "$client" "$@" </dev/null; }

# --- topics -----------------------------------------------------------------------------------------
existing="$(topics --list)"
created=0
while read -r kind name partitions configs; do
  [[ "$kind" == topic ]] || continue
  grep -qxF "$name" <<<"$existing" && continue
  args=(--create --if-not-exists --topic "$name" --partitions "$partitions" --replication-factor "$SETUP_REPLICATION_FACTOR")
  for config in $configs; do args+=(--config "$config"); done
  topics "${args[@]}" >/dev/null
  created=$((created + 1))
done <"$PROVISION_FILE"

# Partition counts of every topic ("name count"), to grow topics the table has given more partitions.
counts="$(topics --describe --exclude-internal | awk '/^Topic:/ && /PartitionCount:/ {
  for (i = 1; i < NF; i++) { if ($i == "Topic:") n = $(i + 1); if ($i == "PartitionCount:") c = $(i + 1) }
  print n, c }')"
while read -r kind name partitions _; do
  [[ "$kind" == topic ]] || continue
  have="$(awk -v t="$name" '$1 == t { print $2 }' <<<"$counts")"
  [[ -n "$have" ]] || fail "topic $name is missing after creation"
  if ((have < partitions)); then
    echo "kafka-setup: $name grows from $have to $partitions partitions"
    topics --alter --topic "$name" --partitions "$partitions" >/dev/null
  elif ((have > partitions)); then
    fail "$name has $have partitions, the topic table says $partitions; partitions cannot be removed (down -v starts over)"
  fi
done <"$PROVISION_FILE"

# --- ACLs -------------------------------------------------------------------------------------------
# Current bindings as "principal type pattern name operation permission host", one per line.
bindings() {
  acls --list | awk '
  /ResourcePattern\(/ {
    match($0, /resourceType=[^,]*/); type = substr($0, RSTART + 13, RLENGTH - 13)
    match($0, /name=[^,]*/); name = substr($0, RSTART + 5, RLENGTH - 5)
    match($0, /patternType=[^)]*/); pattern = substr($0, RSTART + 12, RLENGTH - 12)
  }
  /\(principal=/ {
    match($0, /principal=[^,]*/); principal = substr($0, RSTART + 10, RLENGTH - 10)
    match($0, /host=[^,]*/); host = substr($0, RSTART + 5, RLENGTH - 5)
    match($0, /operation=[^,]*/); op = substr($0, RSTART + 10, RLENGTH - 10)
    match($0, /permissionType=[^)]*/); perm = substr($0, RSTART + 15, RLENGTH - 15)
    print principal, type, pattern, name, op, perm, host
  }'
}

# The acl lines of which some binding is not in $current, as "principal type pattern operations names".
missing_lines() {
  local kind principal type pattern operations names op name
  while read -r kind principal type pattern operations names; do
    [[ "$kind" == acl ]] || continue
    for op in ${operations//,/ }; do
      for name in $names; do
        if ! grep -qxF "$principal $type $pattern $name $op ALLOW *" <<<"$current"; then
          echo "$principal $type $pattern $operations $names"
          continue 3
        fi
      done
    done
  done <"$PROVISION_FILE"
}

# kafka-acls.sh takes operation names in Pascal case (DESCRIBE_CONFIGS -> DescribeConfigs).
pascal() {
  local word out=""
  for word in ${1//_/ }; do
    word="${word,,}"
    out+="${word^}"
  done
  printf '%s' "$out"
}

current="$(bindings)"
granted=0
while read -r principal type pattern operations names; do
  args=(--add --allow-principal "$principal" --allow-host '*' --resource-pattern-type "${pattern,,}")
  for op in ${operations//,/ }; do args+=(--operation "$(pascal "$op")"); done
  case "$type" in
    TOPIC) for name in $names; do args+=(--topic "$name"); done ;;
    GROUP) for name in $names; do args+=(--group "$name"); done ;;
    *) fail "unsupported resource type $type in $PROVISION_FILE" ;;
  esac
  acls "${args[@]}" >/dev/null
  granted=$((granted + 1))
done < <(missing_lines)
if ((granted > 0)); then
  current="$(bindings)"
  still="$(missing_lines)"
  [[ -z "$still" ]] || fail "ACLs still missing after granting them: $still"
fi

echo "kafka-setup: as $SETUP_USER on $SETUP_BOOTSTRAP_SERVER: $created topic(s) created, $granted ACL line(s) granted; topics and ACLs match $PROVISION_FILE"
