"""Failing model servers: retries on 429/5xx with a bounded total, timeouts, garbage replies and context overflow,
against the real llama.cpp server (SmolLM2), directly or behind a misbehaving gateway.

The gateway is a real HTTP proxy on a loopback port: it answers a planned status for the first requests, then
forwards to the model server, like a rate-limiting API gateway would; or it answers garbage, or answers late."""

import dataclasses
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from interviewer.grading.llm import CALL_FAILED
from interviewer.local_llm import MODELS, LocalServer, model_path, pull

# These tests are about the structured (one JSON reply) LLM grader; the checklist judge has its own.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("structured_grading")]


class _Gateway(ThreadingHTTPServer):
    def __init__(
        self, upstream: str, plan: list[int], always: int | None = None, garbage: bool = False, delay: float = 0.0
    ):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream, self.plan, self.always = upstream.rstrip("/"), list(plan), always
        self.garbage, self.delay = garbage, delay
        self.seen: list[int] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: _Gateway

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.server.delay:
            # Late, and never forwarded: an abandoned request must not keep the real server generating (a 1-slot
            # llama.cpp server busy at exit holds the test process open).
            time.sleep(self.server.delay)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.garbage:  # a proxy's error page where the API's JSON should be
            page = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        with self.server.lock:
            code = self.server.always or (self.server.plan.pop(0) if self.server.plan else 0)
        if code:
            self.server.seen.append(code)
            payload = json.dumps({"error": {"message": "busy", "type": "server_error"}}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        path = self.path.removeprefix("/v1")
        req = urllib.request.Request(
            self.server.upstream + path, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                status, data = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        self.server.seen.append(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def gateway(full_service):
    pytest.importorskip("xllamacpp", reason="the `local` extra is not installed")
    pull(full_service.settings.data_dir, "smollm2")
    upstream = LocalServer.get(full_service.settings.data_dir, "smollm2").base_url
    made = []

    def make(plan=(), always=None, garbage=False, delay=0.0) -> _Gateway:
        gw = _Gateway(upstream, list(plan), always, garbage, delay)
        threading.Thread(target=gw.serve_forever, daemon=True).start()
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.shutdown()
        gw.server_close()


def test_a_429_then_5xx_are_retried_and_the_answer_is_graded(full_service, gateway):
    gw = gateway(plan=[429, 503])
    result = full_service.grade("dropout", "뉴런을 무작위로 끈다.", f"{gw.url}#smollm2")
    assert gw.seen[:2] == [429, 503] and 200 in gw.seen
    assert CALL_FAILED not in result.flags
    # SmolLM2 may still fail the format: then the reason says so, never that the call failed, and never a fake 0.
    assert result.score is not None or "출력" in result.unscored_reason


def test_a_server_that_keeps_failing_stops_the_run_after_a_bounded_number_of_calls(full_service, gateway, tmp_path):
    gw = gateway(always=503)
    data = tmp_path / "items.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"i{n}", "question": "dropout", "answer": "뉴런을 무작위로 끈다."}, ensure_ascii=False)
            + "\n"
            for n in range(6)
        ),
        encoding="utf-8",
    )
    report = full_service.evaluate(data, f"{gw.url}#smollm2", max_failures=2)
    flags = [item["flags"] for item in report["items"]]
    assert [CALL_FAILED in f for f in flags] == [True, True, False, False, False, False]
    assert all("not_sent" in f for f in flags[2:])
    assert report["scored"] == 0 and report["unscored"] == 6
    assert "연속 2번" in report["items"][-1]["error"]
    assert len(gw.seen) == 2 * 3  # two items, each the first try and the client's two retries, then nothing


def test_a_garbage_reply_is_one_clear_message_and_unscored(full_service, gateway):
    gw = gateway(garbage=True)
    result = full_service.grade("dropout", "뉴런을 무작위로 끈다.", f"{gw.url}#smollm2")
    assert result.score is None and result.offline_score is not None
    assert "응답을 해석할 수 없습니다" in result.unscored_reason


def test_a_server_that_answers_too_late_times_out_with_one_clear_message(full_service, gateway, monkeypatch):
    import interviewer.providers

    monkeypatch.setattr(interviewer.providers, "TIMEOUT_S", 1.0)
    gw = gateway(delay=3.0)
    started = time.monotonic()
    result = full_service.grade("dropout", "뉴런을 무작위로 끈다.", f"{gw.url}#smollm2")
    assert result.score is None and "시간 초과" in result.unscored_reason
    assert time.monotonic() - started < 3 * 3 + 5  # the first try and two retries, each cut at the timeout


@pytest.fixture()
def tiny_context_server(full_service):
    """The real SmolLM2 on a server whose context (256 tokens) is far shorter than a grading prompt."""
    pytest.importorskip("xllamacpp", reason="the `local` extra is not installed")
    pull(full_service.settings.data_dir, "smollm2")
    model = dataclasses.replace(MODELS["smollm2"], n_ctx=256)
    server = LocalServer(model_path(full_service.settings.data_dir, model), model, threads=2, parallel=1)
    yield f"{server.base_url}#smollm2"
    server.stop()


def test_context_overflow_is_one_clear_message_and_the_interview_goes_on(full_service, tiny_context_server, tmp_path):
    from interviewer.interview import Interviews

    result = full_service.grade("dropout", "뉴런을 무작위로 끈다.", tiny_context_server)
    assert result.score is None and "컨텍스트 길이를 넘었습니다" in result.unscored_reason

    iv = Interviews(
        full_service.bank, full_service._interview_grade, full_service.offline_grader.grade, tmp_path / "s.sqlite"
    )
    out = iv.start(questions=["dropout", "overfitting"], model=tiny_context_server)
    first = out.waiting
    out = iv.reply(out.session_id, "학습 중 뉴런을 무작위로 끈다.")
    assert out.last_turn["status"] == "unscored" and out.last_turn["score"] is None
    assert "컨텍스트 길이" in out.last_turn["grade"]["unscored_reason"]
    assert out.waiting is not None and out.waiting != first and not out.done  # the session moved on
