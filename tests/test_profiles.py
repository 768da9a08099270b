from decimal import Decimal
from pathlib import Path

import pytest

from toolman_kit.errors import ProfileError
from toolman_kit.judge.profiles import load_profile

TOOLMAN = Path(__file__).parents[1] / "examples" / "toolman" / "profile.yaml"


def test_builtin_production():
    p = load_profile()
    assert p.name == "production" and p.min_replicas == 3 and p.sizing == {}
    assert p.secret_env.search("DB_PASSWORD") and not p.secret_env.search("LOG_LEVEL")


def test_toolman_profile_extends_production_with_the_seed_sizing():
    p = load_profile(TOOLMAN)
    assert p.name == "toolman-production" and p.min_replicas == 3
    sizing = p.sizing_for("toolman", "main")
    assert sizing["requests"] == {"cpu": Decimal("0.5"), "memory": Decimal(512 * 2**20)}
    assert sizing["limits"] == {"cpu": Decimal(2), "memory": Decimal(2 * 2**30)}
    assert p.sizing_for("docker-daemon", "sidecar") == {}


@pytest.mark.parametrize("text, message", [
    ("min_replicas: three\n", "min_replicas: must be integer"),
    ("replicas: 3\n", "(top level): must not contain {'replicas'} properties"),
    ("sizing: {main: {requests: {cpu: lots}}}\n", "sizing.main.requests.cpu: not a quantity"),
    ("exemptions: [{check: x}]\n", "exemptions[0]: must contain ['reason'] properties"),
    ("min_replicas: [\n", "invalid YAML"),
    ("extends: self.yaml\n", "extends itself"),
])
def test_bad_profiles_are_one_clear_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "self.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_unknown_profile():
    with pytest.raises(ProfileError, match="no such profile"):
        load_profile("staging")
