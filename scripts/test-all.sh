#!/bin/sh
# Installs what is needed, builds, and runs every test tier (docs/testing.md).
# Usage: sudo scripts/test-all.sh      (BUILD_DIR=... to build elsewhere)
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DBULWARK_BUILD_TESTS=ON
cmake --build "$BUILD_DIR" -j "$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 1800
