"""Saving and loading, never with pickle: files are safetensors, encoded and decoded by the ``safetensors``
package (a dependency of lucidnet), written atomically and checked by SHA-256 when read.

- ``save(state_dict, path)`` / ``load(path)``: name -> array mappings (model weights), with optional
  JSON metadata; ``load`` gives NumPy arrays.
- ``objects.save(obj, f)`` / ``objects.load(f)`` (``lucidnet.save`` / ``lucidnet.load``): PyTorch's
  ``torch.save``/``torch.load``: a state dict or any nest of containers, numbers and tensors, to a path or
  a file object; ``load`` gives Tensors.
- ``save_checkpoint(path, model=..., optimizer=..., ...)`` / ``load_checkpoint(path, model=..., ...)``:
  a whole training run (model, optimizer, scheduler, DataLoader position, RNG, epoch, step, history),
  restored exactly.
- ``CheckpointError``: what loading a truncated, corrupted or mismatched file raises.
"""
from .checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from .statedict import load, save
from .tensorfile import CheckpointError

__all__ = ["CheckpointError", "FORMAT_VERSION", "load", "load_checkpoint", "save", "save_checkpoint"]
