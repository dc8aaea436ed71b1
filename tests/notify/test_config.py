"""[email]: every bad value is one line naming the key; the password never shows."""
from __future__ import annotations

import pytest

from agent.config import ConfigError, from_dict

GOOD = {"recipients": ["patron@boulangerie.fr"], "sender": "relais@boulangerie.fr", "host": "smtp.example.fr",
        "username": "relais", "password": "hunter2-secret"}


def test_defaults_are_off_and_a_full_section_loads():
    assert not from_dict({}).email.enabled
    cfg = from_dict({"email": {**GOOD, "tz": "Europe/Paris", "lang": "en", "port": 2525}}).email
    assert cfg.enabled and cfg.port == 2525 and cfg.password.value == "hunter2-secret"
    assert "hunter2" not in repr(cfg) and "hunter2" not in f"{cfg.password}"


@pytest.mark.parametrize("change, message", [
    ({"recipients": ["nobody"]}, '[email] recipients: expected e-mail addresses such as "alerts@example.com" in '
                                 'every item, got "nobody"'),
    ({"recipients": ["a@b.fr\r\nBcc: x@y.fr"]}, "[email] recipients: expected e-mail addresses"),
    ({"sender": "relais"}, '[email] sender: expected an e-mail address such as "relais@example.com" or "", got '
                           '"relais"'),
    ({"host": ""}, "[email] host: expected the SMTP server's name when recipients are set, got \"\""),
    ({"sender": ""}, "[email] sender: expected an e-mail address when recipients are set"),
    ({"port": 70000}, "[email] port: expected an integer from 1 to 65535, got 70000"),
    ({"lang": "de"}, '[email] lang: expected one of "fr", "en", got "de"'),
    ({"tz": "Europe/Atlantis"}, '[email] tz: expected a time zone such as "Europe/Paris", or "" for the '
                                'system\'s, got "Europe/Atlantis" (unknown time zone)'),
    ({"tz": "../../etc/passwd"}, "[email] tz: expected a time zone"),
    ({"ca": "/nonexistent/ca.pem"}, "[email] ca: expected a readable file"),
    ({"password": ["hunter2-secret"]}, "[email] password: expected a string, got a value not shown"),
    ({"username": ""}, "[email] username: expected a user name with password (they go together)"),
    ({"retry_initial_s": 60, "retry_max_s": 30}, "[email] retry_max_s: expected at least retry_initial_s (60)"),
    ({"starttls": False}, "[email] starttls: expected true when username is set (the password is never sent in "
                          "clear), got false"),
    ({"queue_max": 0}, "[email] queue_max: expected an integer from 1 to 1000, got 0"),
    ({"smtp": "x"}, "[email] smtp"),
])
def test_bad_values_are_one_line(change, message):
    with pytest.raises(ConfigError) as e:
        from_dict({"email": {**GOOD, **change}})
    text = str(e.value)
    assert message in text and "\n" not in text and "hunter2" not in text


def test_password_without_username_is_refused_without_showing_it():
    raw = {k: v for k, v in GOOD.items() if k != "username"}
    with pytest.raises(ConfigError) as e:
        from_dict({"email": raw})
    assert "hunter2" not in str(e.value) and "[email] username" in str(e.value)
