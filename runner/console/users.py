"""The console's people: users with roles, Argon2-hashed passwords, sessions that expire.

Sessions live here, not only in the browser's cookie, so signing out, disabling a user or
changing a password ends their sessions at once. Only a hash of each session token is kept.
Five wrong passwords in fifteen minutes lock the name for fifteen minutes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import DataError

ROLES = ("operator", "auditor", "admin")
USER_NAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")
MIN_PASSWORD = 10
MAX_FAILURES, FAILURE_WINDOW_S = 5, 15 * 60

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    roles TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    password_changed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name),
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failed_sign_ins (name TEXT NOT NULL, at REAL NOT NULL);
"""


class UserError(DataError):
    hint = "See: backroom console users --help"


@dataclass
class User:
    name: str
    roles: tuple[str, ...]
    disabled: bool = False
    session_token: str = ""       # the signed-in session this user object belongs to

    # Flask-Login's user protocol. The id is the session token, so a session can be revoked.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return bool(self.session_token)

    @property
    def is_active(self) -> bool:
        return not self.disabled

    def get_id(self) -> str:
        return self.session_token

    def has(self, role: str) -> bool:
        return role in self.roles


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise UserError(f"roles {', '.join(roles) or '(none)'}: choose from {', '.join(ROLES)}")
    return tuple(r for r in ROLES if r in roles)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")


class UserStore:
    def __init__(self, path: Path, idle_s: float = 30 * 60, max_s: float = 12 * 3600, clock=time.time):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)
        self.hasher = PasswordHasher()
        self.idle_s, self.max_s, self.clock = idle_s, max_s, clock
        self._lock = threading.Lock()   # one connection shared by the server's threads

    def close(self) -> None:
        self.conn.close()

    def _execute(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, args).fetchall()

    # -- users ---------------------------------------------------------------------
    def add(self, name: str, roles: list[str] | tuple[str, ...], password: str) -> User:
        if not USER_NAME.fullmatch(name):
            raise UserError(f"user name {name!r}: 2-32 lower-case letters, digits, '.', '_' or '-', "
                            "starting with a letter")
        roles = check_roles(roles)
        check_password(password)
        if self.get(name) is not None:
            raise UserError(f"user '{name}' already exists")
        now = self.clock()
        self._execute("INSERT INTO users(name, roles, password_hash, created_at, password_changed_at)"
                      " VALUES (?, ?, ?, ?, ?)", (name, ",".join(roles), self.hasher.hash(password), now, now))
        return User(name, roles)

    def get(self, name: str) -> User | None:
        rows = self._execute("SELECT * FROM users WHERE name = ?", (name,))
        return User(rows[0]["name"], tuple(rows[0]["roles"].split(",")), bool(rows[0]["disabled"])) if rows else None

    def all(self) -> list[User]:
        return [User(r["name"], tuple(r["roles"].split(",")), bool(r["disabled"]))
                for r in self._execute("SELECT * FROM users ORDER BY name")]

    def _require(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise UserError(f"no user '{name}'")
        return user

    def set_roles(self, name: str, roles: list[str] | tuple[str, ...]) -> None:
        self._require(name)
        self._execute("UPDATE users SET roles = ? WHERE name = ?", (",".join(check_roles(roles)), name))

    def set_password(self, name: str, password: str) -> None:
        self._require(name)
        check_password(password)
        self._execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?",
                      (self.hasher.hash(password), self.clock(), name))
        self.end_sessions_of(name)

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._require(name)
        self._execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
        if disabled:
            self.end_sessions_of(name)

    # -- signing in ----------------------------------------------------------------
    def locked_out(self, name: str) -> bool:
        since = self.clock() - FAILURE_WINDOW_S
        return self._execute("SELECT COUNT(*) FROM failed_sign_ins WHERE name = ? AND at >= ?",
                             (name, since))[0][0] >= MAX_FAILURES

    def verify(self, name: str, password: str) -> User | None:
        """The user when the name and password are right and the user may sign in; else None."""
        rows = self._execute("SELECT * FROM users WHERE name = ?", (name,))
        if not rows:
            self.hasher.hash(password)  # the same work either way: timing does not tell which names exist
        elif not rows[0]["disabled"] and not self.locked_out(name):
            try:
                self.hasher.verify(rows[0]["password_hash"], password)
            except (VerificationError, InvalidHashError):
                pass
            else:
                if self.hasher.check_needs_rehash(rows[0]["password_hash"]):
                    self._execute("UPDATE users SET password_hash = ? WHERE name = ?",
                                  (self.hasher.hash(password), name))
                self._execute("DELETE FROM failed_sign_ins WHERE name = ?", (name,))
                return User(name, tuple(rows[0]["roles"].split(",")))
        self._execute("INSERT INTO failed_sign_ins(name, at) VALUES (?, ?)", (name[:64], self.clock()))
        return None

    def start_session(self, user: User) -> User:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self._execute("INSERT INTO sessions(token_hash, user, created_at, last_seen) VALUES (?, ?, ?, ?)",
                      (_token_hash(token), user.name, now, now))
        return User(user.name, user.roles, session_token=token)

    def session_user(self, token: str) -> User | None:
        """The signed-in user of a session token, or None when it ended, expired or the user was disabled."""
        rows = self._execute("SELECT s.*, u.roles, u.disabled FROM sessions s JOIN users u ON u.name = s.user"
                             " WHERE s.token_hash = ?", (_token_hash(token),))
        if not rows:
            return None
        row, now = rows[0], self.clock()
        if row["disabled"] or now - row["last_seen"] > self.idle_s or now - row["created_at"] > self.max_s:
            self._execute("DELETE FROM sessions WHERE token_hash = ?", (row["token_hash"],))
            return None
        self._execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now, row["token_hash"]))
        return User(row["user"], tuple(row["roles"].split(",")), session_token=token)

    def end_session(self, token: str) -> None:
        self._execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))

    def end_sessions_of(self, name: str) -> None:
        self._execute("DELETE FROM sessions WHERE user = ?", (name,))
