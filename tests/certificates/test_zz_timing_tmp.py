from __future__ import annotations
import json, os, statistics, subprocess, sys, time
from typing import Any
import pytest
from django.conf import settings
from lantai.certificates import issuing, keys, lists, verifying
from django.utils import timezone
from .test_verify_page import issued_beside_the_browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

@pytest.mark.browser
def test_timing(page: Any, live_server: Any, transactional_db: Any, tmp_path) -> None:
    genuine, revoked = issued_beside_the_browser()
    page.goto(live_server.url + "/verify/")
    page.wait_for_selector("#offline-form:not([hidden])")
    page.route("**/*", lambda route: route.abort())
    times = page.evaluate("""async (text) => {
      const t = JSON.parse(document.getElementById('verify-trust-list').textContent);
      const s = JSON.parse(document.getElementById('verify-status-lists').textContent);
      const r = JSON.parse(document.getElementById('verify-roots').textContent);
      const out = [];
      for (let i = 0; i < 21; i++) {
        const a = performance.now();
        const v = await LantaiVerifier.verify(text, t, s, r, Date.now());
        out.push([performance.now() - a, v.reason]);
      }
      return out;
    }""", genuine.payload)
    ms = [t for t, _ in times[1:]]
    print("\nBROWSER reasons", set(r for _, r in times), "median ms", statistics.median(ms), "p95", sorted(ms)[int(0.95*len(ms))-1], "first", times[0][0])
    # python in-process
    trust, statuses, roots = lists.trust_list(), lists.all_status_lists(), keys.pinned_roots()
    py = []
    for _ in range(20):
        a = time.perf_counter()
        o = verifying.verify(payload=genuine.payload, trust_list=trust, status_lists=statuses, roots=roots, now=timezone.now())
        py.append((time.perf_counter() - a) * 1000)
    print("PY payload median ms", statistics.median(py), o.verdict.reason)
    pdf = issuing.pdf_bytes(genuine)
    a = time.perf_counter()
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as w:
        o = w.submit(lambda: verifying.verify(pdf=pdf, trust_list=trust, status_lists=statuses, roots=roots, now=timezone.now())).result()
    print("PY pdf ms", (time.perf_counter() - a) * 1000, o.verdict.reason)
    (tmp_path / "t.json").write_text(json.dumps(trust)); (tmp_path / "s.json").write_text(json.dumps(statuses))
    (tmp_path / "c.pdf").write_bytes(pdf)
    env = dict(os.environ); env.pop("LANTAI_DATABASE_URL", None); env["LANTAI_DATA_DIR"] = str(settings.DATA_DIR)
    for args in (["--payload", genuine.payload], [str(tmp_path / "c.pdf")]):
        walls = []
        for _ in range(3):
            a = time.perf_counter()
            d = subprocess.run([sys.executable, "-c", "from lantai.cli import main; main()", "certificate", "verify", *args, "--json", "--trust-list", str(tmp_path / "t.json"), "--status-list", str(tmp_path / "s.json")], env=env, capture_output=True, text=True)
            walls.append(time.perf_counter() - a)
        print("CLI", args[0][:10], "rc", d.returncode, json.loads(d.stdout)["reason"], "walls s", [round(w, 2) for w in walls])
    a = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','lantai.settings'); import django; django.setup()"], env=env)
    print("django.setup alone s", round(time.perf_counter() - a, 2))
