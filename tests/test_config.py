"""The config schema: YAML + overrides, and the errors a user sees for bad keys and values."""

import pytest

from tunepipe.config import Config, apply_overrides, load_config
from tunepipe.errors import TunepipeError
from tunepipe.pipelines.knobs import apply_knobs, knob_defaults


def test_demo_config_loads_with_absolute_paths():
    cfg = load_config("examples/demo.yaml")
    assert cfg.approval.mode == "demo"
    assert cfg.data.paths[0].startswith("/") and cfg.data.paths[0].endswith("examples/data/support.jsonl")
    assert cfg.project.data_dir.startswith("/")


def test_overrides_are_typed_yaml_values():
    cfg = load_config("examples/demo.yaml", ["training.max_steps=5", "training.learning_rate=2e-4",
                                             "training.lora.target_modules=[q_proj]"])
    assert cfg.training.max_steps == 5 and cfg.training.learning_rate == 2e-4
    assert cfg.training.lora.target_modules == ["q_proj"]


@pytest.mark.parametrize(
    "override, message",
    [
        ("training.max_step=5", "training.max_step: unknown key"),
        ("training.max_steps=zero", "training.max_steps: Input should be a valid integer"),
        ("training.max_steps=0", "training.max_steps: Input should be greater than or equal to 1"),
        ("approval.mode=maybe", "approval.mode: Input should be 'stop', 'wait' or 'demo'"),
        ("split.train=0.9", "must be 1.0"),
        ("notakeyvalue", "is not key=value"),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(TunepipeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config("examples/demo.yaml", [override])


def test_missing_config_file_and_missing_data_section(tmp_path):
    with pytest.raises(TunepipeError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "c.yaml").write_text("training: {max_steps: 3}\n")
    with pytest.raises(TunepipeError, match="data: Field required"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "bad.yaml").write_text("data: [unclosed\n")
    with pytest.raises(TunepipeError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_override_into_a_scalar_is_refused():
    with pytest.raises(TunepipeError, match="is not a section"):
        apply_overrides({"training": {"max_steps": 3}}, ["training.max_steps.x=1"])


def test_knobs_round_trip_and_validate():
    cfg = load_config("examples/demo.yaml")
    knobs = knob_defaults(cfg)
    assert apply_knobs(cfg.to_json(), knobs) == cfg
    changed = apply_knobs(cfg.to_json(), {**knobs, "max_steps": 3, "data_paths": "a.jsonl, b.jsonl"})
    assert changed.training.max_steps == 3 and changed.data.paths == ["a.jsonl", "b.jsonl"]
    with pytest.raises(TunepipeError, match="training.max_steps"):
        apply_knobs(cfg.to_json(), {**knobs, "max_steps": -1})


def test_config_json_round_trip():
    cfg = load_config("examples/demo.yaml")
    assert Config.from_json(cfg.to_json()) == cfg


def test_knobs_arrive_as_text_in_the_setup_struct_and_are_typed_again():
    cfg = load_config("examples/demo.yaml")
    as_text = {name: str(float(v)) if isinstance(v, int) and not isinstance(v, bool) else str(v)
               for name, v in knob_defaults(cfg).items()}
    assert apply_knobs(cfg.to_json(), as_text) == cfg
    with pytest.raises(TunepipeError, match="pipeline parameter max_steps='many' is not of type int"):
        apply_knobs(cfg.to_json(), {**as_text, "max_steps": "many"})


def test_the_pipeline_signature_is_the_knobs_in_one_place():
    from tunepipe.pipelines.knobs import KNOBS, RUN_PARAMETERS, pipeline_signature

    assert list(pipeline_signature().parameters) == ["config_json", *KNOBS, *RUN_PARAMETERS]


def test_the_data_stages_config_ignores_training_evaluation_and_registry_changes():
    base = load_config("examples/demo.yaml")
    later = load_config("examples/demo.yaml", ["training.learning_rate=0.5", "evaluation.max_samples=3",
                                               "registry.model_name=other", "approval.mode=stop"])
    assert base.data_stage_json() == later.data_stage_json()
    assert base.to_json() != later.to_json()
    for data_change in ("dedup.shingle_size=3", "pii.default_action=mask", "split.salt=other"):
        assert load_config("examples/demo.yaml", [data_change]).data_stage_json() != base.data_stage_json(), data_change
    seen = Config.from_json(base.data_stage_json())
    assert seen.pii == base.pii and seen.model == base.model and seen.data == base.data


def test_the_training_config_ignores_evaluation_registry_and_serving_but_not_training_or_approval():
    base = load_config("examples/demo.yaml")
    later = load_config("examples/demo.yaml", ["evaluation.gate.min_gain.loss=0.5", "evaluation.max_samples=3",
                                               "registry.model_name=other", "serving.max_batch_size=2"])
    assert base.training_stage_json() == later.training_stage_json()
    for change in ("training.learning_rate=0.5", "approval.mode=stop", "model.max_seq_len=128",
                   "dedup.shingle_size=3"):
        assert load_config("examples/demo.yaml", [change]).training_stage_json() != base.training_stage_json(), change
    seen = Config.from_json(base.training_stage_json())
    assert seen.training == base.training and seen.approval == base.approval and seen.cluster == base.cluster
