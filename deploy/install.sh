#!/bin/sh
# The production topology's system packages, from Debian (docs/operations.md "Topology"):
# HAProxy (the balancer in front of the ASGI processes) and PgBouncer (between them and
# PostgreSQL). Run as root on the host; Parley itself never installs anything at run time.
set -eu
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy pgbouncer >/dev/null
# The packages start their own services with Debian's configs; Parley's units and configs
# (deploy/systemd, deploy/haproxy, deploy/pgbouncer) replace them when you install those.
haproxy -v | head -1
pgbouncer --version | head -1
