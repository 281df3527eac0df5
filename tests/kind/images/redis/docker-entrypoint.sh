#!/bin/sh
# As the official redis image's entrypoint: arguments that start with '-' are redis-server's.
set -e
case "${1:-}" in
  -* | "") set -- redis-server "$@" ;;
esac
exec "$@"
