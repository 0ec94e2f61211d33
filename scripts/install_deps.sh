#!/usr/bin/env bash
# Installs every Debian 12 package that building, running and testing orch needs.
# Run as root on a fresh machine. Idempotent: packages already present are skipped by apt.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # deep learning (CPU LibTorch 1.13), on OpenBLAS: apt pulls it in anyway (via python3-scipy),
  # and naming it keeps every machine on the same BLAS, whose rounding decides the trajectories
  libtorch-dev libopenblas0-pthread
  # distribution
  libopenmpi-dev openmpi-bin
  # configuration, CLI, logging, JSON
  libyaml-cpp-dev libboost-program-options-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  # results store
  libsqlite3-dev sqlite3
  # medical formats
  libnifti2-dev zlib1g-dev libgdcm-dev libmatio-dev libpugixml-dev libhdf5-dev hdf5-tools python3-nibabel python3-scipy
  # report figures (gnuplot through a pipe)
  gnuplot-nox
  # tests: GoogleTest, the HTML report in headless Chromium, report.tex through pdflatex
  libgtest-dev libgmock-dev chromium texlive-latex-recommended
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
