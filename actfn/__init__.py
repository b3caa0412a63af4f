"""actfn: neural-network activation functions for JAX with hand-written, proven derivatives."""

from actfn import forward as forward
from actfn._activations.gated import geglu as geglu, glu as glu, reglu as reglu, swiglu as swiglu
from actfn._activations.normalizers import (
    log_softmax as log_softmax,
    softmax as softmax,
    softmin as softmin,
    sparsemax as sparsemax,
)
from actfn._activations.periodic import snake as snake, snake_beta as snake_beta
from actfn._activations.rational import rational as rational, rational_init as rational_init
from actfn._activations.rectifiers import (
    celu as celu,
    elu as elu,
    hard_shrink as hard_shrink,
    hard_tanh as hard_tanh,
    identity as identity,
    leaky_relu as leaky_relu,
    prelu as prelu,
    relu as relu,
    relu6 as relu6,
    rrelu as rrelu,
    selu as selu,
    soft_shrink as soft_shrink,
    squared_relu as squared_relu,
    star_relu as star_relu,
    threshold as threshold,
    xielu as xielu,
)
from actfn._activations.self_gated import (
    gelu as gelu,
    hard_silu as hard_silu,
    mish as mish,
    quick_gelu as quick_gelu,
    silu as silu,
)
from actfn._activations.sigmoids import (
    hard_sigmoid as hard_sigmoid,
    log1mexp as log1mexp,
    log_sigmoid as log_sigmoid,
    sigmoid as sigmoid,
    soft_sign as soft_sign,
    sparse_sigmoid as sparse_sigmoid,
    tanh as tanh,
    tanh_shrink as tanh_shrink,
)
from actfn._activations.softplus import (
    exponential as exponential,
    softplus as softplus,
    sparse_plus as sparse_plus,
    squareplus as squareplus,
)
from actfn._define import define as define, forward_mode as forward_mode
from actfn._registry import (
    Bound as Bound,
    deserialize as deserialize,
    get as get,
    names as names,
    register as register,
    serialize as serialize,
    spec as spec,
)
from actfn._training import (
    activation_parameter_names as activation_parameter_names,
    weight_decay_mask as weight_decay_mask,
)
from actfn._verify import Report as Report, verify as verify
from actfn._wiring import ALIASES as _ALIASES, REGISTRY as _REGISTRY

# The aliases (the spellings of Keras 3 and PyTorch) are each definition's `aliases`, each the
# same object as its canonical function.
globals().update({alias: _REGISTRY[name].function for alias, name in _ALIASES.items()})

__all__ = [
    *_REGISTRY,
    *_ALIASES,
    "Bound",
    "rational_init",
    "activation_parameter_names",
    "weight_decay_mask",
    "define",
    "deserialize",
    "forward",
    "forward_mode",
    "get",
    "names",
    "register",
    "serialize",
    "spec",
    "Report",
    "verify",
]
