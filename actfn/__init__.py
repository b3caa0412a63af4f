"""actfn: neural-network activation functions for JAX with hand-written, proven derivatives."""

from actfn import _catalog  # noqa: F401  (registration order)
from actfn._define import define as define, forward_mode as forward_mode
from actfn._gated import geglu as geglu, glu as glu, reglu as reglu, swiglu as swiglu
from actfn._normalizers import (
    log_softmax as log_softmax,
    softmax as softmax,
    softmin as softmin,
    sparsemax as sparsemax,
)
from actfn._rectifiers import (
    celu as celu,
    elu as elu,
    hard_shrink as hard_shrink,
    hard_tanh as hard_tanh,
    leaky_relu as leaky_relu,
    prelu as prelu,
    relu as relu,
    relu6 as relu6,
    rrelu as rrelu,
    selu as selu,
    soft_shrink as soft_shrink,
    threshold as threshold,
)
from actfn._registry import (
    deserialize as deserialize,
    get as get,
    names as names,
    register as register,
    serialize as serialize,
    spec as spec,
)
from actfn._smooth import (
    exponential as exponential,
    gelu as gelu,
    hard_sigmoid as hard_sigmoid,
    hard_silu as hard_silu,
    identity as identity,
    log1mexp as log1mexp,
    log_sigmoid as log_sigmoid,
    mish as mish,
    sigmoid as sigmoid,
    silu as silu,
    snake as snake,
    soft_sign as soft_sign,
    softplus as softplus,
    sparse_plus as sparse_plus,
    sparse_sigmoid as sparse_sigmoid,
    squareplus as squareplus,
    tanh as tanh,
    tanh_shrink as tanh_shrink,
)
from actfn._verify import Report as Report, verify as verify

# Aliases: the spellings of Keras 3 and PyTorch, each the same object as its canonical function.
hard_swish = hardswish = hard_silu
hardsigmoid = hard_sigmoid
hardshrink = hard_shrink
hardtanh = hard_tanh
leakyrelu = leaky_relu
linear = identity
logsigmoid = log_sigmoid
logsoftmax = log_softmax
softshrink = soft_shrink
softsign = soft_sign
sparseplus = sparse_plus
swish = silu
tanhshrink = tanh_shrink

__all__ = [
    # activations, canonical names
    "celu", "elu", "exponential", "geglu", "gelu", "glu", "hard_shrink", "hard_sigmoid",
    "hard_silu", "hard_tanh", "identity", "leaky_relu", "log1mexp", "log_sigmoid",
    "log_softmax", "mish", "prelu", "reglu", "relu", "relu6", "rrelu", "selu", "sigmoid",
    "silu", "snake", "soft_shrink", "soft_sign", "softmax", "softmin", "softplus",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swiglu", "tanh",
    "tanh_shrink", "threshold",
    # aliases
    "hard_swish", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "leakyrelu", "linear",
    "logsigmoid", "logsoftmax", "softshrink", "softsign", "sparseplus", "swish", "tanhshrink",
    # registry and verification
    "define", "deserialize", "forward_mode", "get", "names", "register", "serialize", "spec",
    "Report", "verify",
]
