#!/bin/sh
# Makes (or reuses) the certificates and passwords docker-compose.secure.yml mounts, then lets the
# containers read them:
#
#   docker/kafka-secure/prepare.sh [--hosts h1,h2]
#
# Compose mounts file secrets with their owner and mode on the host, and the containers run as other
# users (broker and kafka-setup as the image's appuser, the services as 1001), so the files the
# containers read become 0644. The directory stays 0700: on the host they remain readable by you alone.
set -eu
cd "$(dirname "$0")/../.."
dir="${KAFKA_SECURITY_DIR:-.data/kafka/security}"
node scripts/kafka/kafka.js security --dir "$dir" --bootstrap localhost:9092 "$@"
chmod 0700 "$dir"
chmod 0644 "$dir"/*.password "$dir/broker.keystore.password" "$dir/broker.p12"
echo "Readable by the containers: $dir/*.password, broker.keystore.password, broker.p12 (the directory is 0700)."
