"""PyInstaller runtime hook of srgan-desktop.spec's default ("trim") build with a CUDA torch.

That bundle keeps only the NVIDIA libraries torch links against (needed for ``import torch``)
and leaves out the ones loaded on first GPU use (cuDNN engines, cuSOLVER, ...), so GPUs are
hidden before torch is imported: ``torch.cuda.is_available()`` is False and the engine's
``auto`` device is the CPU.  Build with ``SRGAN_DESKTOP_CUDA=full`` for a GPU-capable bundle.
"""

import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""
