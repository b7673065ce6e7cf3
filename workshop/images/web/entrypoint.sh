#!/bin/sh
# Use the site mounted in /etc/nginx/site.d, else the built-in site $SITE
# (with @BACKEND@ replaced by $BACKEND).
set -eu
if [ -z "$(ls -A /etc/nginx/site.d)" ]; then
    template="/etc/nginx/sites-available/${SITE}.conf"
    if [ ! -f "$template" ]; then
        echo "unknown SITE '$SITE'; choose one of: $(ls /etc/nginx/sites-available | sed 's/\.conf$//' | tr '\n' ' ')" >&2
        exit 64
    fi
    sed "s/@BACKEND@/${BACKEND}/g" "$template" > "/etc/nginx/site.d/${SITE}.conf"
fi
exec "$@"
