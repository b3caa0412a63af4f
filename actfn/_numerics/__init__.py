"""The numerics under the activations: accurate elementary functions and the exact arithmetic
they are built from.  Nothing here knows about JAX's autodiff or the registry; the family
modules in `actfn/_activations/` call these from their forward passes and partials.

* `policy`: what the numerics know of the dtype policy (the per-dtype key, 16-bit inputs).
* `exact`: error-free transformations (Knuth's sum, Dekker's split and product) that XLA
  cannot simplify away, and constants to any number of digits.
* `series`: Horner's rule, Chebyshev economisation, fixed Taylor series.
* `elementary`: exp as hi + lo, expm1, log1p, tanh, and x times a gate at infinity.
* `logistic`: the logistic function and x sigmoid(z) kept in range (silu, swiglu, mish).
* `roots`: f' next to its simple zeros (silu, gelu, gelu's tanh form, mish, snake's df/da).
* `gaussian`: Phi and phi in their tails, from a table and the hazard series (gelu, geglu).
* `gelu_tanh`: gelu's tanh form x sigmoid(C1 x + C3 x^3) with z carried in double words.
* `periodic`: pi in words, reductions against multiples of pi, and snake's derivative zeros.

Each module's docstring says what it guarantees and which tests hold it.  Data files (`*.npy`)
lie beside the module that reads them, which names the tool in `tools/` that writes them.
"""
