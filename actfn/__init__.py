"""actfn: neural-network activation functions for JAX with hand-written, proven derivatives."""

from actfn import _catalog  # noqa: F401  (registration order)
from actfn._define import define as define
from actfn._define import forward_mode as forward_mode
from actfn._gated import geglu as geglu
from actfn._gated import glu as glu
from actfn._gated import reglu as reglu
from actfn._gated import swiglu as swiglu
from actfn._normalizers import (
    log_softmax as log_softmax,
)
from actfn._normalizers import (
    softmax as softmax,
)
from actfn._normalizers import (
    softmin as softmin,
)
from actfn._normalizers import (
    sparsemax as sparsemax,
)
from actfn._rectifiers import (
    celu as celu,
)
from actfn._rectifiers import (
    elu as elu,
)
from actfn._rectifiers import (
    hard_shrink as hard_shrink,
)
from actfn._rectifiers import (
    hard_tanh as hard_tanh,
)
from actfn._rectifiers import (
    leaky_relu as leaky_relu,
)
from actfn._rectifiers import (
    prelu as prelu,
)
from actfn._rectifiers import (
    relu as relu,
)
from actfn._rectifiers import (
    relu6 as relu6,
)
from actfn._rectifiers import (
    rrelu as rrelu,
)
from actfn._rectifiers import (
    selu as selu,
)
from actfn._rectifiers import (
    soft_shrink as soft_shrink,
)
from actfn._rectifiers import (
    threshold as threshold,
)
from actfn._registry import (
    deserialize as deserialize,
)
from actfn._registry import (
    get as get,
)
from actfn._registry import (
    names as names,
)
from actfn._registry import (
    register as register,
)
from actfn._registry import (
    serialize as serialize,
)
from actfn._registry import (
    spec as spec,
)
from actfn._smooth import (
    exponential as exponential,
)
from actfn._smooth import (
    gelu as gelu,
)
from actfn._smooth import (
    hard_sigmoid as hard_sigmoid,
)
from actfn._smooth import (
    hard_silu as hard_silu,
)
from actfn._smooth import (
    identity as identity,
)
from actfn._smooth import (
    log1mexp as log1mexp,
)
from actfn._smooth import (
    log_sigmoid as log_sigmoid,
)
from actfn._smooth import (
    mish as mish,
)
from actfn._smooth import (
    sigmoid as sigmoid,
)
from actfn._smooth import (
    silu as silu,
)
from actfn._smooth import (
    snake as snake,
)
from actfn._smooth import (
    soft_sign as soft_sign,
)
from actfn._smooth import (
    softplus as softplus,
)
from actfn._smooth import (
    sparse_plus as sparse_plus,
)
from actfn._smooth import (
    sparse_sigmoid as sparse_sigmoid,
)
from actfn._smooth import (
    squareplus as squareplus,
)
from actfn._smooth import (
    tanh as tanh,
)
from actfn._smooth import (
    tanh_shrink as tanh_shrink,
)
from actfn._verify import Report as Report
from actfn._verify import verify as verify

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
    "celu",
    "elu",
    "exponential",
    "geglu",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_tanh",
    "identity",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "prelu",
    "reglu",
    "relu",
    "relu6",
    "rrelu",
    "selu",
    "sigmoid",
    "silu",
    "snake",
    "soft_shrink",
    "soft_sign",
    "softmax",
    "softmin",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swiglu",
    "tanh",
    "tanh_shrink",
    "threshold",
    # aliases
    "hard_swish",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leakyrelu",
    "linear",
    "logsigmoid",
    "logsoftmax",
    "softshrink",
    "softsign",
    "sparseplus",
    "swish",
    "tanhshrink",
    # registry and verification
    "define",
    "deserialize",
    "forward_mode",
    "get",
    "names",
    "register",
    "serialize",
    "spec",
    "Report",
    "verify",
]
