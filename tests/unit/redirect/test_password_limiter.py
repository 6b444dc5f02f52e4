from __future__ import annotations

from services.redirect.password_limiter import PasswordLimiter

WINDOW = 900.0


def test_five_wrong_tries_then_blocked() -> None:
    limiter = PasswordLimiter(max_failures=5, window_s=WINDOW)
    for i in range(5):
        assert limiter.retry_after("1.2.3.4", "Abc1234", 100.0 + i) is None
        limiter.record_failure("1.2.3.4", "Abc1234", 100.0 + i)
    wait = limiter.retry_after("1.2.3.4", "Abc1234", 110.0)
    assert wait is not None and abs(wait - (100.0 + WINDOW - 110.0)) < 1e-9


def test_block_is_per_ip_and_per_code() -> None:
    limiter = PasswordLimiter(max_failures=5, window_s=WINDOW)
    for _ in range(5):
        limiter.record_failure("1.2.3.4", "Abc1234", 100.0)
    assert limiter.retry_after("1.2.3.4", "Abc1234", 101.0) is not None
    assert limiter.retry_after("5.6.7.8", "Abc1234", 101.0) is None
    assert limiter.retry_after("1.2.3.4", "Other12", 101.0) is None


def test_window_slides() -> None:
    limiter = PasswordLimiter(max_failures=5, window_s=WINDOW)
    for i in range(5):
        limiter.record_failure("ip", "code123", 100.0 + i * 100)
    assert limiter.retry_after("ip", "code123", 999.0) is not None
    # The first failure (t=100) leaves the window at t=1000: one more try is allowed.
    assert limiter.retry_after("ip", "code123", 1000.0) is None


def test_bounded_memory_forgets_least_recent_keys() -> None:
    limiter = PasswordLimiter(max_failures=1, window_s=WINDOW, max_keys=2)
    limiter.record_failure("a", "code123", 1.0)
    limiter.record_failure("b", "code123", 2.0)
    limiter.record_failure("c", "code123", 3.0)
    assert limiter.retry_after("a", "code123", 4.0) is None
    assert limiter.retry_after("c", "code123", 4.0) is not None
