"""Training callbacks for kgen's models, one per module.

```python
gan.fit(
    train,
    epochs=20,
    callbacks=[
        kgen.callbacks.DivergenceGuard(),
        kgen.callbacks.SampleGrid("samples/"),
        kgen.callbacks.BackupAndRestore("backup/"),
    ],
)
```
"""

from kgen.callbacks.backup_and_restore import BackupAndRestore
from kgen.callbacks.divergence_guard import DivergenceGuard
from kgen.callbacks.evaluate import Evaluate
from kgen.callbacks.sample_grid import SampleGrid
from kgen.callbacks.time_budget import TimeBudget

__all__ = [
    "BackupAndRestore",
    "DivergenceGuard",
    "Evaluate",
    "SampleGrid",
    "TimeBudget",
]
