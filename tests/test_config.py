import pytest

from asap_keras.child.config import TrainConfig
from asap_keras.config import Config, config_from_dict, dump_config, load_config
from asap_keras.errors import ConfigError


def test_every_shipped_config_loads(configs_dir):
    paths = sorted(configs_dir.glob("*.toml"))
    assert any(p.stem.endswith("_train") for p in paths) and len(paths) >= 4
    for path in paths:
        schema = TrainConfig if path.stem.endswith("_train") else Config
        assert isinstance(load_config(path, schema=schema), schema), path


def test_config_of_the_other_command_names_it(configs_dir):
    with pytest.raises(ConfigError, match=r"digits_train\.toml.*\['model', 'train'\].*"
                                          r"asap-keras train"):
        load_config(configs_dir / "digits_train.toml")
    with pytest.raises(ConfigError, match=r"\['search', 'space'\].*asap-keras search"):
        load_config(configs_dir / "digits.toml", schema=TrainConfig)


def test_paper_defaults():
    cfg = Config()
    assert (cfg.search.anneal.t0, cfg.search.anneal.beta) == (1.3, 0.95)
    assert cfg.search.prune.threshold_factor == 0.4
    assert cfg.search.epochs == 50
    # Algorithm 1 starts alpha at 0; DARTS' 1e-3 * N(0, 1) is the "normal" option.
    assert cfg.search.alpha_init == "zeros" and cfg.search.alpha_scale == 0.0
    darts = config_from_dict({"search": {"alpha_init": "normal"}})
    assert darts.search.alpha_scale == 1e-3


@pytest.mark.parametrize("raw, message", [
    ({"search": {"alpha_init": "uniform"}},
     r"search\.alpha_init must be one of \('zeros', 'normal'\).*Received: alpha_init='uniform'"),
    ({"search": {"alpha_init_scale": 0}}, r"search\.alpha_init_scale must be > 0"),
    ({"search": {"prune": {"rebuild_fraction": 0.0}}},
     r"search\.prune\.rebuild_fraction must be in \(0, 1\].*Received: rebuild_fraction=0\.0"),
    ({"search": {"prune": {"rebuild_fraction": 1.5}}}, r"rebuild_fraction=1\.5"),
    ({"search": {"prune": {"rebuild": "often"}}},
     r"search\.prune\.rebuild must be one of cost, epoch.*Received: rebuild='often'"),
    ({"search": {"prune": {"rebuild_cost_ratio": 0}}},
     r"search\.prune\.rebuild_cost_ratio must be a finite number > 0.*Received: "
     r"rebuild_cost_ratio=0"),
])
def test_search_options_are_validated(raw, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(raw)


def test_unknown_key_names_its_dotted_path():
    with pytest.raises(ConfigError, match=r"search\.anneal\.betta.*Received: betta=0\.9"):
        config_from_dict({"search": {"anneal": {"betta": 0.9}}})


def test_range_error_echoes_value():
    with pytest.raises(ConfigError, match=r"search\.anneal\.beta must be in \(0, 1\]\. "
                                          r"Received: beta=1\.7"):
        config_from_dict({"search": {"anneal": {"beta": 1.7}}})


@pytest.mark.parametrize("raw, key", [
    ({"data": {"batch_size": "64"}}, "data.batch_size"),
    ({"data": {"augment": 1}}, "data.augment"),
    ({"space": {"cells": 2.5}}, "space.cells"),
    ({"search": 3}, "search"),
])
def test_wrong_types_are_named(raw, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_dict(raw)


def test_overrides_use_dotted_keys_and_toml_values(tmp_path, configs_dir):
    cfg = load_config(configs_dir / "smoke.toml",
                      ["search.anneal.beta=0.9", "data.source=digits", "space.ops='darts'"])
    assert cfg.search.anneal.beta == 0.9 and cfg.space.ops == "darts"
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(configs_dir / "smoke.toml", ["search.anneal.beta"])


@pytest.mark.parametrize("name", ["cifar10.toml", "smoke.toml"])  # a set name, an op list
def test_dump_round_trips(tmp_path, configs_dir, name):
    cfg = load_config(configs_dir / name)
    path = tmp_path / "c.toml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found.*nope.toml"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nname=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_ops_take_a_set_name_or_a_list_of_names():
    cfg = config_from_dict({"space": {"ops": ["max_pool_3x3", "skip_connect"]}})
    assert cfg.space.ops == ("max_pool_3x3", "skip_connect")
    assert config_from_dict({"space": {"ops": "darts"}}).space.ops == "darts"


@pytest.mark.parametrize("ops, message", [
    ("nasnet", r"space\.ops must be one of \['asap', 'darts', 'gold'\].*Received: ops='nasnet'"),
    (["sep_conv_3x3", "conv_7x7"],
     r"space\.ops\[1\] is not a known op; known ops: .*Received: ops\[1\]='conv_7x7'"),
    (["skip_connect"] * 9, r"space\.ops lists an op twice"),
    (["skip_connect", "skip_connect"], r"lists an op twice"),
    (["none"], r"at least 2 ops"),
    ([1, 2], r"space\.ops\[0\] must be a string\. Received: ops\[0\]=1"),
    (3, r"space\.ops must be a string or a list\. Received: ops=3"),
])
def test_bad_op_lists_name_the_value(ops, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"space": {"ops": ops}})


@pytest.mark.parametrize("raw, message", [
    ({"search": {"method": "enas"}},
     r"search\.method must be one of \('asap', 'darts', 'magnitude', 'accum_grad', "
     r"'gold', 'nap'\)"),
    ({"search": {"darts": {"order": 3}}},
     r"search\.darts\.order must be in \[1, 2\] \(1: first order; 2: unrolled.*Received: order=3"),
    ({"search": {"anneal": {"schedule": "linear"}}},
     r"search\.anneal\.schedule must be one of \('exponential', 'pac'\)"),
    ({"search": {"anneal": {"pac": {"delta": 1.0}}}}, r"search\.anneal\.pac\.delta"),
    ({"space": {"ops": "asap"}, "search": {"anneal": {"pac": {"nu": 0.5}}}},
     r"search\.anneal\.pac\.nu must be <= 1/N = 0\.1429 .*Received: nu=0\.5"),
    ({"search": {"magnitude": {"key": "abs"}}}, r"search\.magnitude\.key must be one of"),
    ({"search": {"accum_grad": {"mode": "max"}}}, r"search\.accum_grad\.mode must be one of"),
    ({"search": {"accum_grad": {"power": 0}}}, r"search\.accum_grad\.power must be in \[1, 10\]"),
    ({"search": {"magnitude": {"final_sparsity": 1.0}}},
     r"search\.magnitude\.final_sparsity must be in \[0, 1\)"),
    ({"search": {"method": "magnitude", "epochs": 10, "magnitude": {"final_epoch": 12}}},
     r"start_epoch < final_epoch <= search\.epochs \(10\)\. Received: start_epoch=4, "
     r"final_epoch=12"),
    ({"search": {"method": "accum_grad", "epochs": 10, "accum_grad": {"start_epoch": 10}}},
     r"Received: start_epoch=10, final_epoch=10"),
    ({"search": {"gold": {"penalty": "l1"}}}, r"search\.gold\.penalty must be one of"),
    ({"search": {"gold": {"xi_min": 0.1, "xi_max": 0.05}}},
     r"search\.gold\.xi_max must be in \[xi_min, 1\) \(xi_min = 0\.1\)\. "
     r"Received: xi_max=0\.05"),
    ({"search": {"gold": {"c0": 1.0}}}, r"search\.gold\.c0 must be > 1"),
    ({"search": {"method": "nap", "epochs": 10, "nap": {"prune_start": 10}}},
     r"prune_start < final_epoch <= search\.epochs \(10\)\. Received: prune_start=10"),
    ({"search": {"method": "nap", "nap": {"keep": 7}}, "space": {"ops": "asap"}},
     r"search\.nap\.keep must be in \[8, 98\] .*Received: keep=7"),
    ({"search": {"method": "asap"}, "space": {"topology": "free"}},
     r"space\.topology = 'free' needs a search\.method .*Received: topology='free', "
     r"method='asap'"),
    ({"search": {"method": "gold"}, "space": {"ops": "darts"}},
     r"search\.method = 'gold' has no 'none' op; remove it from space\.ops"),
    ({"search": {"arch_optimizer": {"kind": "rmsprop"}}},
     r"search\.arch_optimizer\.kind must be one of \('auto', 'adam', 'sgd'\)"),
    ({"search": {"arch_optimizer": {"lr": "fast"}}},
     r"search\.arch_optimizer\.lr must be > 0, or \"auto\".*Received: lr='fast'"),
])
def test_method_tables_are_validated(raw, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(raw)


def test_zhu_gupta_defaults_follow_the_paper_proportions():
    # The paper prunes from epoch 20 to 50 of 50: 40% of the epochs, then to the end.
    cfg = config_from_dict({"search": {"method": "magnitude"}})
    assert cfg.search.magnitude.epochs_of(cfg.search.epochs) == (20, 50)
    cfg = config_from_dict({"search": {"method": "accum_grad", "epochs": 4}})
    assert cfg.search.accum_grad.epochs_of(4) == (2, 4)


def test_the_alpha_optimizer_defaults_follow_the_method_and_round_trip(tmp_path):
    from asap_keras.config import dump_config, load_config

    asap = config_from_dict({}).search.arch_optimizer
    assert (asap.kind, asap.lr, asap.weight_decay) == ("adam", 3e-4, 1e-3)  # DARTS' Adam
    gold = config_from_dict({"search": {"method": "gold"}}).search.arch_optimizer
    assert (gold.kind, gold.lr, gold.momentum, gold.weight_decay) == ("sgd", 1.0, 0.9, 0.0)
    # A value given stays; the rest takes the method's defaults.
    mixed = config_from_dict({"search": {"method": "gold",
                                         "arch_optimizer": {"lr": 0.03}}}).search
    assert (mixed.arch_optimizer.kind, mixed.arch_optimizer.lr) == ("sgd", 0.03)
    adam = config_from_dict({"search": {"method": "gold",
                                        "arch_optimizer": {"kind": "adam"}}}).search
    assert (adam.arch_optimizer.lr, adam.arch_optimizer.weight_decay) == (3e-4, 1e-3)
    # The resolved config holds numbers, and reads back equal.
    cfg = config_from_dict({"search": {"method": "gold"}, "space": {"ops": "gold"}})
    text = dump_config(cfg)
    # data.stream's own value, and runtime.jit_compile = "auto" (resolved on the machine
    # that runs it) stay.
    assert "auto" not in text[:text.index("[runtime]")].replace('stream = "auto"', "")
    (tmp_path / "c.toml").write_text(text)
    assert load_config(tmp_path / "c.toml") == cfg


@pytest.mark.parametrize("schema", [Config, TrainConfig])
@pytest.mark.parametrize("runtime, message", [
    ({"precision": "float16"}, r"runtime\.precision must be one of \('float32', "
                               r"'mixed_float16', 'mixed_bfloat16'\)\. Received: "
                               r"precision='float16'"),
    ({"precision": 16}, r"runtime\.precision must be a string\. Received: precision=16"),
    ({"jit_compile": "xla"}, r"runtime\.jit_compile must be 'auto', true or false\. "
                             r"Received: jit_compile='xla'"),
    ({"jit_compile": 1}, r"runtime\.jit_compile must be a string or true or false\. "
                         r"Received: jit_compile=1"),
    ({"jit_compile": ["auto"]}, r"runtime\.jit_compile .*Received: jit_compile=\['auto'\]"),
    # Keras turns XLA off (with a warning) under op determinism: refused rather than ignored.
    ({"jit_compile": True}, r"runtime\.jit_compile cannot be true while "
                            r"runtime\.deterministic is true.*Received: jit_compile=True"),
])
def test_precision_and_jit_compile_are_validated_for_both_commands(schema, runtime, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"runtime": runtime}, schema)


@pytest.mark.parametrize("schema", [Config, TrainConfig])
def test_precision_and_jit_compile_load_and_round_trip(tmp_path, schema):
    assert (schema().runtime.precision, schema().runtime.jit_compile) == ("float32", "auto")
    for runtime in ({"precision": "mixed_float16", "jit_compile": False},
                    {"precision": "mixed_bfloat16", "jit_compile": True, "deterministic": False},
                    {"jit_compile": "auto"}):
        cfg = config_from_dict({"runtime": runtime}, schema)
        assert all(getattr(cfg.runtime, k) == v for k, v in runtime.items())
        (tmp_path / "c.toml").write_text(dump_config(cfg))
        assert load_config(tmp_path / "c.toml", schema=schema) == cfg


def test_darts_second_order_needs_float32():
    raw = {"search": {"method": "darts", "darts": {"order": 2}},
           "runtime": {"precision": "mixed_bfloat16"}}
    with pytest.raises(ConfigError, match=r"runtime\.precision must be 'float32' with "
                                          r"search\.darts\.order = 2 .*Received: "
                                          r"precision='mixed_bfloat16'"):
        config_from_dict(raw)
    raw["search"]["darts"]["order"] = 1
    assert config_from_dict(raw).runtime.precision == "mixed_bfloat16"
