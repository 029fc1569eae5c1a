"""Architectures: parameter counts, output shapes, the seed-specific structure."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlrepro.models import build, n_params, names

# (name, kwargs, input channels, trainable parameters)
COUNTS = [
    ("cnn_p1a", {}, 3, 38_650),
    ("cnn_p1b", {}, 3, 11_138),
    ("resnet_like", {}, 3, 76_042),
    ("resnet_like", {"shared_blocks": False}, 3, 159_274),
    ("resnet_like", {"variant": "dropout"}, 3, 76_042),
    ("resnet_like", {"variant": "batchnorm"}, 3, 76_138),
    ("resnet_like", {"variant": "batchnorm", "shared_blocks": False}, 3, 159_658),
    ("fc_baseline", {}, 3, 1_578_506),
    ("keras_mlp", {}, 3, 4_084_010),
    ("keras_mlp", {"dropout": True}, 3, 4_084_010),
    ("mini_googlenet", {}, 1, 1_651_098),
    ("mini_googlenet", {"in_channels": 3}, 3, 1_652_826),
    ("resnet_v1", {"depth": 20}, 3, 273_066),
    ("resnet_v1", {"depth": 32}, 3, 467_946),
    ("resnet_v1", {"depth": 44}, 3, 662_826),
    ("resnet_v1", {"depth": 56}, 3, 857_706),
]


def _bn_buffers(model: nn.Module) -> int:
    """BN moving mean + variance: Keras's "Non-trainable params"."""
    return sum(m.running_mean.numel() + m.running_var.numel()
               for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_registry_has_every_schema_model_of_these_studies():
    for name in ("cnn_p1a", "cnn_p1b", "resnet_like", "fc_baseline", "keras_mlp",
                 "mini_googlenet", "resnet_v1"):
        assert name in names()


@pytest.mark.parametrize("name,kwargs,cin,count", COUNTS,
                         ids=[f"{n}-{k}" for n, k, _, _ in COUNTS])
def test_parameter_count_and_forward(name, kwargs, cin, count):
    torch.manual_seed(0)
    model = build(name, **kwargs)
    assert n_params(model) == count
    x = torch.randn(2, cin, 32, 32)
    model.train()
    out = model(x)
    assert out.shape == (2, 10) and out.dtype == torch.float32
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        a, b = model(x), model(x)
    assert torch.equal(a, b) and torch.isfinite(a).all()


def test_num_classes_argument():
    assert build("cnn_p1a", num_classes=7)(torch.randn(1, 3, 32, 32)).shape == (1, 7)
    assert build("mini_googlenet", num_classes=5)(torch.randn(2, 1, 32, 32)).shape == (2, 5)
    assert build("resnet_v1", depth=20, num_classes=4)(torch.randn(2, 3, 32, 32)).shape == (2, 4)


# --------------------------------------------------------------------------- cifar_cnn

def test_shared_block_is_one_module_called_ten_times():
    shared = build("resnet_like")
    indep = build("resnet_like", shared_blocks=False)
    blocks = [m for m in shared.modules() if type(m).__name__ == "ResBlock"]
    assert len(blocks) == 1
    assert len([m for m in indep.modules() if type(m).__name__ == "ResBlock"]) == 10
    calls = []
    blocks[0].register_forward_hook(lambda *a: calls.append(1))
    shared(torch.randn(1, 3, 32, 32))
    assert len(calls) == 10
    block_params = 32 * 32 * 9 + 32
    assert n_params(indep) - n_params(shared) == 9 * block_params == 83_232
    # the shared net's state_dict holds the block once
    assert sum(k.endswith("conv.weight") for k in shared.state_dict()) == 1
    assert sum(k.endswith("conv.weight") for k in indep.state_dict()) == 10


def test_shared_block_gradient_accumulates_over_depths():
    torch.manual_seed(0)
    model = build("resnet_like")
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    assert model.block.conv.weight.grad.abs().sum() > 0


def test_variant_structure():
    drop = build("resnet_like", variant="dropout")
    d2 = [m for m in drop.modules() if isinstance(m, nn.Dropout2d)]
    assert len(d2) == 2 and all(m.p == 0.3 for m in d2)       # stem + the shared block
    # conv -> Dropout2d -> ReLU in the stem
    assert [type(m) for m in drop.stem][:3] == [nn.Conv2d, nn.Dropout2d, nn.ReLU]

    bn = build("resnet_like", variant="batchnorm")
    assert [type(m) for m in bn.stem] == [nn.Conv2d, nn.Identity, nn.ReLU, nn.BatchNorm2d,
                                          nn.MaxPool2d]
    assert bn.block.conv.bias is None
    assert torch.all(bn.block.bn.weight == 0.5) and torch.all(bn.block.bn.bias == 0)
    # stem BN keeps torch defaults
    assert torch.all(bn.stem[3].weight == 1)
    with pytest.raises(ValueError):
        build("resnet_like", variant="l2")


def test_p1b_head_is_tanh():
    acts = [type(m) for m in build("cnn_p1b") if isinstance(m, (nn.ReLU, nn.Tanh))]
    assert acts == [nn.ReLU, nn.ReLU, nn.ReLU, nn.Tanh]


# --------------------------------------------------------------------------- keras_mlp

def test_keras_he_normal_statistics():
    from dlrepro.models.keras_mlp import TRUNC_STD_FACTOR, he_normal_

    torch.manual_seed(0)
    w = torch.empty(1000, 3072)
    he_normal_(w)
    target = math.sqrt(2 / 3072)
    assert abs(w.std().item() / target - 1) < 0.01             # std after truncation
    assert w.abs().max().item() <= 2 * target / TRUNC_STD_FACTOR + 1e-7
    assert w.abs().max().item() > 1.9 * target / TRUNC_STD_FACTOR


def test_keras_mlp_init_l2_params_and_dropout():
    torch.manual_seed(0)
    m = build("keras_mlp")
    assert [p.shape for p in m.l2_params()] == [(1000, 3072), (1000, 1000)]
    assert m.l2_params()[0] is m.fc1.weight and m.l2_params()[1] is m.fc2.weight
    assert all(torch.all(l.bias == 0) for l in (m.fc1, m.fc2, m.out))
    assert not any(isinstance(x, nn.Dropout) for x in m.modules())
    # glorot-uniform output kernel: |w| <= sqrt(6 / (1000 + 10))
    assert m.out.weight.abs().max() <= math.sqrt(6 / 1010)
    d = build("keras_mlp", dropout=True)
    assert [x.p for x in d.modules() if isinstance(x, nn.Dropout)] == [0.2, 0.5, 0.5]


# --------------------------------------------------------------------------- googlenet

def test_mini_googlenet_spatial_sizes_and_channels():
    from dlrepro.models.googlenet import Downsample, Inception

    model = build("mini_googlenet").eval()
    seen = []
    for m in model.features:
        m.register_forward_hook(lambda mod, i, o: seen.append((type(mod).__name__,
                                                               tuple(o.shape[1:]))))
    model(torch.randn(2, 1, 32, 32))
    assert seen == [
        ("ConvModule", (96, 32, 32)),
        ("Inception", (64, 32, 32)), ("Inception", (80, 32, 32)),
        ("Downsample", (160, 15, 15)),
        ("Inception", (160, 15, 15)), ("Inception", (160, 15, 15)),
        ("Inception", (160, 15, 15)), ("Inception", (144, 15, 15)),
        ("Downsample", (240, 7, 7)),
        ("Inception", (336, 7, 7)), ("Inception", (336, 7, 7)),
    ]
    assert sum(isinstance(m, Inception) for m in model.modules()) == 8
    assert sum(isinstance(m, Downsample) for m in model.modules()) == 2
    # conv module = Conv -> BN (Keras eps/momentum) -> ReLU
    conv_mod = model.features[0]
    assert [type(m) for m in conv_mod] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert conv_mod[1].eps == 1e-3 and conv_mod[1].momentum == 0.01
    # Keras summary of the 32x32x3 net: total 1,656,250 = trainable 1,652,826 + 3,424
    rgb = build("mini_googlenet", in_channels=3)
    assert n_params(rgb) + _bn_buffers(rgb) == 1_656_250


# --------------------------------------------------------------------------- resnet_v1

@pytest.mark.parametrize("depth,keras_total", [(20, 274_442), (32, 470_218), (44, 665_994),
                                               (56, 861_770)])
def test_resnet_v1_matches_keras_summary(depth, keras_total):
    model = build("resnet_v1", depth=depth)
    assert n_params(model) + _bn_buffers(model) == keras_total
    assert round(n_params(model) / 1e6, 2) == {20: 0.27, 32: 0.47, 44: 0.66, 56: 0.86}[depth]


def test_resnet_v1_structure_and_l2_params():
    from dlrepro.models.resnet_cifar import BasicBlockV1, Conv2dSame

    model = build("resnet_v1", depth=44)
    blocks = [m for m in model.modules() if isinstance(m, BasicBlockV1)]
    assert len(blocks) == 21
    projections = [b for b in blocks if not isinstance(b.shortcut, nn.Identity)]
    assert len(projections) == 2
    assert all(b.shortcut[0].kernel_size == (1, 1) and b.shortcut[0].stride == (2, 2)
               for b in projections)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 43 + 2
    l2 = model.l2_params()
    assert len(l2) == 45 and all(p.dim() == 4 for p in l2)
    assert id(model.fc.weight) not in {id(p) for p in l2}
    with pytest.raises(ValueError):
        build("resnet_v1", depth=45)
    # stage outputs 32x32x16 -> 16x16x32 -> 8x8x64
    shapes = []
    for i in (0, 7, 14):
        model.blocks[i].register_forward_hook(lambda m, inp, o: shapes.append(tuple(o.shape[1:])))
    model.eval()(torch.randn(2, 3, 32, 32))
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert isinstance(convs[0], Conv2dSame)


def test_conv2d_same_follows_tensorflow_padding():
    from dlrepro.models.resnet_cifar import Conv2dSame

    torch.manual_seed(0)
    conv = Conv2dSame(2, 3, 3, stride=2)
    x = torch.randn(1, 2, 8, 8)
    # TF 'same', stride 2, even input: one extra row/column at the bottom/right only
    ref = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, conv.bias, stride=2)
    assert torch.allclose(conv(x), ref)
    conv1 = Conv2dSame(2, 3, 3, stride=1)
    assert torch.allclose(conv1(x), F.conv2d(x, conv1.weight, conv1.bias, padding=1))
    x7 = torch.randn(1, 2, 7, 7)          # odd input, stride 2: symmetric padding
    assert torch.allclose(conv(x7), F.conv2d(x7, conv.weight, conv.bias, stride=2, padding=1))
