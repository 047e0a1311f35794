#!/bin/sh
# make check: the table of configuration keys against the built sample
# configuration and privpopd.conf(5) (conf_docs.py says what it checks).
exec python3 "${srcdir:-.}/tests/unit/conf_docs.py" tests/unit/conf_keys \
    etc/privpopd.conf man/privpopd.conf.5
