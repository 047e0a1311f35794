#!/bin/sh
# make check: the README's list of the files that run as root, with
# their line counts, is the one scripts/root-code.py computes now.
exec python3 "${srcdir:-.}/scripts/root-code.py" --check \
    "${srcdir:-.}/README.md"
