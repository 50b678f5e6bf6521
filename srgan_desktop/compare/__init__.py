"""The comparison, without Qt: what the comparison window shows and runs, as plain Python.

After napari's ViewerModel / QtViewer split: :class:`ComparisonModel` (``compare.model``) holds
the image and mode, the compared scale, the methods (``compare.methods``), one status per
method, the run queue with its cancel rules, the result cache (pixels, never Qt objects) and
the scores (``compare.scores``); it tells its views what changed through plain callbacks
(``compare.events``).  ``srgan_desktop.ui.main_window`` only lays widgets out and wires them
to this model, so every rule here is tested without a QApplication (tests/test_compare.py)
and ``tests/test_layering.py`` checks, in a fresh interpreter, that no module of this package
imports Qt.
"""

from srgan_desktop.compare.events import Events
from srgan_desktop.compare.methods import (BICUBIC_KEY, INPUT_KEY, REFERENCE_KEY, MethodKind, MethodInfo,
                                           ModelSource)
from srgan_desktop.compare.model import (MODES, CompareError, ComparisonModel, MethodOutput, MethodState,
                                         Prepared, RunRequest, Status, image_hash, prepare)
from srgan_desktop.compare.scores import Scores, compute_scores, register_scorer

__all__ = ["Events", "BICUBIC_KEY", "INPUT_KEY", "REFERENCE_KEY", "MethodKind", "MethodInfo", "ModelSource",
           "MODES", "CompareError", "ComparisonModel", "MethodOutput", "MethodState", "Prepared",
           "RunRequest", "Status", "image_hash", "prepare", "Scores", "compute_scores", "register_scorer"]
