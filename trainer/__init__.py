"""Training of the SRResNet and SRGAN generators (depends on srgan_desktop.core, never on Qt)."""
