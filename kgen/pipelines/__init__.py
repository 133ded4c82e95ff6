"""Pipelines: how a model is run end to end on user inputs.

A pipeline reads images, sets up the model at each resolution, runs its
optimisation steps with a driver (Adam through `fit`, or SciPy's L-BFGS) and
returns the result; the model (`kgen.models`) holds only the losses and one
step. `kgen.pipelines.style_transfer` runs `kgen.StyleTransfer`.
"""
