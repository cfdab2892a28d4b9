"""Interviews: start, answer, resume, list and delete sessions; everything lives in one SQLite file.

The LangGraph checkpointer holds each session's full state; two small tables beside it hold what listing and
review need without replaying checkpoints (a session's summary and each question's final score).

A session may belong to an owner (the user a server authenticated). Every call that names an owner sees only that
owner's sessions, and a session of someone else is "not found", exactly like one that does not exist; a call with
no owner (a local, single-user run: the CLI, the UI without --auth) sees every session. Session ids carry a random
part from `secrets`, so one cannot be guessed from another or from the time it was started."""

import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from ..bank import Bank, Question
from ..errors import InterviewerError, SessionNotFound
from ..grading.answer import check_answer
from ..grading.schema import GradeResult, mean_score
from .graph import Grade, InterviewState, build_graph, command_of, now_iso, question_scores
from .phrasing import LANGS, say
from .plan import choose_mains
from .records import Line, Turn, Waiting, turn_grade
from .schedule import Card, replay, weak_topics

_SCHEMA = """
CREATE TABLE IF NOT EXISTS iv_sessions (
  id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL, model TEXT NOT NULL, lang TEXT NOT NULL,
  options TEXT NOT NULL, status TEXT NOT NULL, graded INTEGER NOT NULL DEFAULT 0, mean REAL, owner TEXT);
CREATE TABLE IF NOT EXISTS iv_scores (
  session_id TEXT NOT NULL, question_id TEXT NOT NULL, score REAL NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (session_id, question_id));
"""


@dataclass
class GradingStatus:
    """What the grader is doing while the candidate waits ("핵심 포인트 3/5 확인 중"), streamed by `reply_stream`."""

    text: str


@dataclass
class TurnOutput:
    """What one step of the conversation produced, for a UI or a terminal to show."""

    session_id: str
    new: list[Line]  # transcript lines added by this step
    transcript: list[Line]
    waiting: Waiting | None  # the question awaiting an answer, None when the interview is over
    done: bool
    last_turn: Turn | None = None  # the most recent turn (graded, unscored or skipped)
    turns: list[Turn] = field(default_factory=list)

    @property
    def last_grade(self) -> GradeResult | None:
        return turn_grade(self.last_turn)


class Interviews:
    def __init__(self, bank: Bank, grade: Grade, offline_grade: Callable[[Question, str], GradeResult], db_path: Path):
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.bank = bank
        # Two connections: the checkpointer serialises its own with its own lock; ours is guarded by _db_lock.
        self._conn = sqlite3.connect(db_path, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(iv_sessions)")}
        if "owner" not in columns:  # a database from before sessions had owners: they stay ownerless
            self._conn.execute("ALTER TABLE iv_sessions ADD COLUMN owner TEXT")
        self._graph_conn = sqlite3.connect(db_path, check_same_thread=False, timeout=30)
        self._db_lock = threading.Lock()
        self._session_locks: dict[str, threading.Lock] = {}
        self.saver = SqliteSaver(self._graph_conn)
        self.graph = build_graph(bank, grade, offline_grade, self.saver)

    def close(self) -> None:
        self._conn.close()
        self._graph_conn.close()

    # -- conversation ---------------------------------------------------------------------------------------------
    def start(
        self,
        *,
        model: str = "offline",
        topics: list[str] | None = None,
        count: int = 3,
        difficulty: list[int] | None = None,
        review: bool = False,
        lang: str = "ko",
        seed: int | None = None,
        questions: list[str] | None = None,
        owner: str | None = None,
    ) -> TurnOutput:
        """`questions`: exact main questions (ids or wording) instead of a draw. `owner`: whose session it is (review
        mode then draws on that owner's history only)."""
        if lang not in LANGS:
            raise InterviewerError(f"지원하지 않는 언어입니다: {lang}", hint="ko 또는 en")
        mains = self._mains(questions, topics, count, difficulty, review, seed, owner)
        # Readable and sortable by its start, unguessable by its 96 random bits.
        sid = datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(12)
        options = {
            "topics": topics or [],
            "count": count,
            "difficulty": difficulty or [],
            "review": review,
            "mains": mains,
        }
        now = now_iso()
        with self._db_lock, self._conn:
            self._conn.execute(
                "INSERT INTO iv_sessions (id, created, updated, model, lang, options, status, owner) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (sid, now, now, model, lang, json.dumps(options, ensure_ascii=False), "active", owner),
            )
        return self._run(sid, _initial_state(sid, model, lang, mains, review, now), before=0)

    def _mains(self, questions, topics, count, difficulty, review, seed, owner) -> list[str]:
        """The main questions of a new session: the ones asked for (ids or wording), else a draw."""
        if questions:
            found = [self.bank.find(q) for q in questions]
            return list(dict.fromkeys(q.id if q.is_main else q.parent for q in found))
        return choose_mains(
            self.bank,
            topics=topics,
            count=count,
            difficulty=difficulty,
            review=self.cards(owner) if review else None,
            seed=seed,
        )

    def reply(self, session_id: str, text: str, *, owner: str | None = None) -> TurnOutput:
        """The candidate's answer or a command (힌트/패스/종료). An unusable answer is refused before anything is
        recorded, so the caller keeps the text and the session is unchanged."""
        out = None
        for event in self.reply_stream(session_id, text, owner=owner):
            out = event if isinstance(event, TurnOutput) else out
        return out

    def reply_stream(
        self, session_id: str, text: str, *, owner: str | None = None
    ) -> Iterator[str | GradingStatus | TurnOutput]:
        """Like `reply`, yielding while the answer is graded the grader's progress (GradingStatus) and the
        interviewer's words as a model streams them (str drafts, each the whole text so far), then the TurnOutput.
        The answer is checked before the first yield."""
        self._check_owner(session_id, owner)
        check_answer(text)
        if not self._snapshot(session_id).next:
            raise InterviewerError("이미 끝난 면접입니다.", hint="새 면접을 시작하세요.")
        return self._stream(session_id, text if command_of(text) else text.strip())

    def _stream(self, sid: str, text: str) -> Iterator[str | GradingStatus | TurnOutput]:
        with self._lock(sid):
            snap = self._snapshot(sid)
            if not snap.next:
                raise InterviewerError("이미 끝난 면접입니다.", hint="새 면접을 시작하세요.")
            for chunk in self.graph.stream(Command(resume=text), self._config(sid), stream_mode="custom"):
                if isinstance(chunk, dict) and "draft" in chunk:
                    yield chunk["draft"]
                elif isinstance(chunk, dict) and "progress" in chunk:
                    yield GradingStatus(chunk["progress"])
            snap_after = self.graph.get_state(self._config(sid))
            self._record(sid, snap_after.values)
            yield self._output(sid, snap_after, len(snap.values["transcript"]))

    def resume(self, session_id: str, *, owner: str | None = None) -> TurnOutput:
        """The session as it stands: its transcript and the question waiting for an answer."""
        self._check_owner(session_id, owner)
        snap = self._snapshot(session_id)
        return self._output(session_id, snap, before=len(snap.values["transcript"]))

    def _lock(self, sid: str) -> threading.Lock:
        with self._db_lock:
            return self._session_locks.setdefault(sid, threading.Lock())

    def _config(self, sid: str) -> dict:
        return {"configurable": {"thread_id": sid}}

    def _snapshot(self, sid: str):
        snap = self.graph.get_state(self._config(sid))
        if not snap.values:
            raise _not_found(sid)
        return snap

    def _check_owner(self, sid: str, owner: str | None) -> None:
        """Someone else's session is not found, like a missing one: its existence is not revealed either."""
        if owner is None:
            return
        with self._db_lock:
            row = self._conn.execute("SELECT owner FROM iv_sessions WHERE id=?", (sid,)).fetchone()
        if row is None or row[0] != owner:
            raise _not_found(sid)

    def _run(self, sid: str, payload, before: int) -> TurnOutput:
        self.graph.invoke(payload, self._config(sid))
        snap = self.graph.get_state(self._config(sid))
        self._record(sid, snap.values)
        return self._output(sid, snap, before)

    def _output(self, sid: str, snap, before: int) -> TurnOutput:
        values = snap.values
        waiting = None
        for task in snap.tasks:
            for intr in task.interrupts:
                waiting = intr.value
        turns = values.get("turns", [])
        return TurnOutput(
            sid,
            values["transcript"][before:],
            values["transcript"],
            waiting,
            bool(values.get("done")),
            turns[-1] if turns else None,
            turns,
        )

    def _record(self, sid: str, values: dict) -> None:
        scores = question_scores(values["turns"])
        mean = mean_score(scores.values())
        status = "active" if not values.get("done") else "stopped" if values.get("quit") else "finished"
        now = now_iso()
        at = {t["question_id"]: t["at"] for t in values["turns"]}
        with self._db_lock, self._conn:
            self._conn.execute(
                "UPDATE iv_sessions SET updated=?, status=?, graded=?, mean=? WHERE id=?",
                (now, status, len(scores), mean, sid),
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO iv_scores VALUES (?,?,?,?)",
                [(sid, qid, s, at[qid]) for qid, s in scores.items()],
            )

    # -- sessions -------------------------------------------------------------------------------------------------
    def list_sessions(self, owner: str | None = None) -> list[dict]:
        """Newest first; with an owner, only that owner's sessions."""
        where, args = ("WHERE owner = ? ", (owner,)) if owner is not None else ("", ())
        with self._db_lock:
            rows = self._conn.execute(
                "SELECT id, created, updated, model, lang, options, status, graded, mean, owner "
                f"FROM iv_sessions {where}ORDER BY created DESC, id DESC",
                args,
            ).fetchall()
        out = []
        for sid, created, updated, model, lang, options, status, graded, mean, who in rows:
            o = json.loads(options)
            out.append(
                {
                    "id": sid,
                    "created": created,
                    "updated": updated,
                    "model": model,
                    "lang": lang,
                    "status": status,
                    "graded": graded,
                    "mean": mean,
                    "topics": o["topics"],
                    "questions": len(o["mains"]),
                    "review": o["review"],
                    "owner": who,
                }
            )
        return out

    def meta(self, sid: str, *, owner: str | None = None) -> dict:
        for row in self.list_sessions(owner):
            if row["id"] == sid:
                return row
        raise _not_found(sid)

    def values(self, sid: str, *, owner: str | None = None) -> InterviewState:
        self._check_owner(sid, owner)
        return self._snapshot(sid).values

    def delete(self, sid: str, *, owner: str | None = None) -> None:
        self.meta(sid, owner=owner)
        with self._db_lock, self._conn:
            self._conn.execute("DELETE FROM iv_scores WHERE session_id=?", (sid,))
            self._conn.execute("DELETE FROM iv_sessions WHERE id=?", (sid,))
        self.saver.delete_thread(sid)

    # -- across sessions ------------------------------------------------------------------------------------------
    def cards(self, owner: str | None = None) -> dict[str, Card]:
        """The review schedule over every graded question (with an owner: over that owner's sessions only)."""
        query, args = "SELECT question_id, score, at FROM iv_scores", ()
        if owner is not None:
            query += " WHERE session_id IN (SELECT id FROM iv_sessions WHERE owner = ?)"
            args = (owner,)
        with self._db_lock:
            rows = self._conn.execute(query, args).fetchall()
        known = {q.id for q in self.bank}
        return replay([(qid, s, datetime.fromisoformat(at)) for qid, s, at in rows if qid in known])

    def weak_topics(self, owner: str | None = None) -> list[dict]:
        return weak_topics(self.cards(owner), {q.id: q.topics for q in self.bank})


def _not_found(sid: str) -> SessionNotFound:
    return SessionNotFound(
        f"세션을 찾을 수 없습니다: {sid}",
        hint="세션 id는 `interviewer sessions list` 나 화면의 '기록' 탭에서 확인하세요.",
    )


def _initial_state(sid: str, model: str, lang: str, mains: list[str], review: bool, now: str) -> InterviewState:
    """A new session's graph state: the welcome line, nothing asked yet."""
    welcome = Line(
        role="interviewer",
        kind="notice",
        at=now,
        text=say(lang, "welcome", n=len(mains), review=say(lang, "review") if review else ""),
    )
    state = {
        "session_id": sid,
        "model": model,
        "lang": lang,
        "mains": mains,
        "main_pos": 0,
        "pending": [],
        "current": None,
        "hints": 0,
        "answer": None,
        "block_answers": [],
        "turns": [],
        "transcript": [welcome],
        "done": False,
        "quit": False,
    }
    return state
