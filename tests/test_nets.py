import pytest
import torch

from reverie.nets.classes import find_class
from reverie.core.errors import ReverieError
from reverie.io.images import load_image
from reverie.nets.verdicts import classify
from reverie.nets.zoo import check_tap, load_net


@pytest.mark.parametrize("model", ["lite0", "lite1", "lite2"])
def test_chelsea_is_a_cat(model):
    top = classify(load_image("sample:chelsea"), model)[0]
    assert 281 <= top["index"] <= 285, top


def test_layer_names_mean_the_same_depth_in_every_net():
    nets = [load_net(m) for m in ("lite0", "lite1", "lite2")]
    x = torch.rand(1, 3, 64, 64)
    for name in ["stem", "stage1", "stage3", "stage5", "stage7", "head", "logits"]:
        strides = {n.layers[name].stride for n in nets}
        assert len(strides) == 1, name
        for n in nets:
            assert n.features(x, [name])[name].shape[1] == n.layers[name].channels
    assert len(nets[0].stages[5]) == 4 and len(nets[1].stages[5]) == 5  # 16 vs 21 blocks


def test_features_match_the_full_forward():
    net = load_net("lite0")
    x = torch.rand(2, 3, 96, 80)
    feats = net.features(x, ["stage3.1", "stage3", "logits"])
    assert torch.allclose(feats["logits"], net(x), atol=1e-5)
    assert feats["stage3"].shape[-2:] == (12, 10)


def test_unknown_names_suggest_close_matches():
    net = load_net("lite0")
    with pytest.raises(ReverieError, match="stage5"):
        net.check_layer("stag5")
    with pytest.raises(ReverieError, match="0-111"):
        check_tap(net, "stage5:500")
    with pytest.raises(ReverieError, match="hammerhead shark"):
        find_class("hamerhead shark")
    assert find_class("Hammerhead") == 4
    assert find_class("peacock") == 84 and find_class("Carassius auratus") == 1  # WordNet synonyms


def test_classify_and_layers_cli(cli):
    import json
    code, out, _ = cli("classify", "sample:chelsea", "--model", "all", "--json")
    assert code == 0
    preds = json.loads(out)["predictions"]
    assert set(preds) == {"lite0", "lite1", "lite2"}
    code, out, _ = cli("layers", "--model", "lite1", "--json")
    assert code == 0 and any(r["name"] == "stage5.3" for r in json.loads(out)["layers"])


def test_public_functions_are_functions_after_their_modules_load():
    import reverie
    import reverie.image.deepdream  # noqa: F401  (a module of the same name would shadow them)
    import reverie.image.featurevis  # noqa: F401
    import reverie.draw.engines  # noqa: F401
    assert callable(reverie.dream) and callable(reverie.visualize) and callable(reverie.load_net)
    assert callable(reverie.perceive)
    import reverie.audio.style, reverie.image.style  # noqa: F401,E401
    assert callable(reverie.audio_style) and callable(reverie.style_transfer)
    assert callable(reverie.texture)


def test_classify_is_the_shared_verdict():
    from reverie.nets.verdicts import verdicts
    image = load_image("sample:coffee", max_side=128)
    assert classify(image, "lite0", top=3) == verdicts(image, "lite0", top=3)[0]["top"]
