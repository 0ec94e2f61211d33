#!/usr/bin/env bash
# report.tex compiles with pdflatex inside a minimal document, as a user would \input it.
# Skipped without pdflatex (Debian texlive-latex-recommended).
source "$(dirname "$0")/lib.sh"
command -v pdflatex > /dev/null || { echo "SKIP: pdflatex is not installed (apt-get install texlive-latex-recommended)"; exit 77; }
cp "$(dirname "$0")/data/report_layouts.yaml" layouts.yaml
"$ORCH" run layouts.yaml > run.log 2>&1 || { cat run.log; fail "orch run exited non-zero"; }
cd runs/layouts
printf '%s\n' '\documentclass{article}' '\usepackage{booktabs}' '\begin{document}' \
  '\input{report.tex}' '\end{document}' > paper.tex
timeout 120 pdflatex -interaction=nonstopmode -halt-on-error paper.tex > latex.log 2>&1 || { tail -30 latex.log; fail "pdflatex failed"; }
[ -s paper.pdf ] || fail "no PDF"
[ "$(grep -c 'begin{tabular}' report.tex)" = 5 ] || fail "expected 5 tabulars"
! grep -q "Undefined control" latex.log || fail "undefined control sequence"
echo "report_tex: ok"
