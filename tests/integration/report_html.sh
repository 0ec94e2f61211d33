#!/usr/bin/env bash
# report.html in headless Chromium (Debian's chromium): every table and figure is in the rendered
# page, every image is inline, and the page requests nothing from the network (Chromium's net log,
# checked against a control page that does request something). Skipped without chromium.
source "$(dirname "$0")/lib.sh"
command -v chromium > /dev/null || { echo "SKIP: chromium is not installed (apt-get install chromium)"; exit 77; }
PY=/usr/bin/python3
cp "$(dirname "$0")/data/report_layouts.yaml" layouts.yaml
"$ORCH" run layouts.yaml > run.log 2>&1 || { cat run.log; fail "orch run exited non-zero"; }
"$ORCH" report --db runs/layouts/orch.sqlite --json > summary.json || fail "orch report failed"

render() {  # render PAGE DOM NETLOG
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --user-data-dir="$WORK/profile" \
    --log-net-log="$3" --dump-dom "file://$1" > "$2" 2> chromium.log || { cat chromium.log; fail "chromium failed on $1"; }
}
render "$WORK/runs/layouts/report.html" dom.html net.json
printf '<html><body><img src="http://192.0.2.1/x.png"><p>control</p></body></html>' > control.html
render "$WORK/control.html" control_dom.html control_net.json

$PY - <<'PYEOF' || fail "rendered report check failed"
import json, re
def page_requests(netlog):
    # Requests the page made: Chromium's own background requests carry no origin.
    j = json.load(open(netlog))
    types = {v: k for k, v in j["constants"]["logEventTypes"].items()}
    starts = [e["params"] for e in j["events"]
              if types[e["type"]] == "URL_REQUEST_START_JOB" and "url" in e.get("params", {})]
    return [p["url"] for p in starts if p.get("initiator") != "not an origin"]
control = page_requests("control_net.json")
assert any(u.startswith("http://192.0.2.1/") for u in control), ("the control request went unseen", control)
requests = page_requests("net.json")
assert not requests, ("report.html requested", requests)
dom = open("dom.html").read()
s = json.load(open("summary.json"))
tables = s["experiments"][0]["tables"]
assert dom.count('<table class="r">') == len(tables) == 5
for t in tables:
    assert f'id="t-layouts-{t["name"]}"' in dom, t["name"]
    assert f'href="#t-layouts-{t["name"]}"' in dom, "table of contents lacks " + t["name"]
imgs = re.findall(r'<img[^>]*src="([^"]*)"', dom)
assert len(imgs) == s["figures"] > 0, (len(imgs), s["figures"])
assert all(u.startswith("data:image/") for u in imgs)
assert not re.search(r'(src|href)="(?!data:|#)', dom), "a non-inline reference"
assert 'id="provenance"' in dom and 'id="phantom-banner"' in dom
PYEOF
echo "report_html: ok"
