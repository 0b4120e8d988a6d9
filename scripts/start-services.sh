#!/usr/bin/env bash
# Start the services the server tests talk to, when they are not already answering:
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), Redis on 127.0.0.1:6379 and RabbitMQ
# on 127.0.0.1:5672 (guest/guest, which RabbitMQ allows from localhost only).
# Installs them from Debian's packages first when they are missing.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! answers 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -V | tail -1)
  conf=/etc/postgresql/$version/main/pg_hba.conf
  # the tests connect as postgres over TCP without a password, as on the development machines
  grep -q "oomlens-tests" "$conf" || $sudo sed -i "1i host all all 127.0.0.1/32 trust # oomlens-tests" "$conf"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
if ! answers 6379; then
  command -v redis-server >/dev/null || {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  }
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/oomlens-redis.log
fi
if ! answers 5672; then
  command -v rabbitmq-server >/dev/null || {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
  }
  $sudo rabbitmq-server -detached
fi
for port in 5432 6379 5672; do
  for _ in $(seq 150); do answers $port && break; sleep 0.2; done
  answers $port || { echo "service on port $port did not start" >&2; exit 1; }
done
