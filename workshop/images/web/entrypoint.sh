#!/bin/sh
# Use the site mounted in /etc/nginx/site.d, else the built-in site $SITE
# (with @BACKEND@ replaced by $BACKEND). The lb site also gets its upstream block:
# written now from tasks.$BACKEND, then kept in step by upstream.sh in the
# background (a reload when the tasks change, never a restart).
set -eu
if [ -z "$(ls -A /etc/nginx/site.d)" ]; then
    template="/etc/nginx/sites-available/${SITE}.conf"
    if [ ! -f "$template" ]; then
        echo "unknown SITE '$SITE'; choose one of: $(ls /etc/nginx/sites-available | sed 's/\.conf$//' | tr '\n' ' ')" >&2
        exit 64
    fi
    sed "s/@BACKEND@/${BACKEND}/g" "$template" > "/etc/nginx/site.d/${SITE}.conf"
    if [ "$SITE" = lb ]; then
        upstream="/etc/nginx/site.d/upstream-${BACKEND}.conf"
        /bin/sh /usr/local/bin/upstream.sh sync "$BACKEND" "$upstream"
        /bin/sh /usr/local/bin/upstream.sh watch "$BACKEND" "$upstream" &
    fi
fi
exec "$@"
