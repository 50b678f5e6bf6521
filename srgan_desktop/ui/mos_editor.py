"""The study editor: name, source images, conditions (built-in methods, model files, folders of
results made elsewhere), ACR or paired comparison, calibration, replicates, viewing time,
viewing conditions (magnification, grey interval), rater instructions, breaks and seed;
"Create" renders the stimuli with the core engine as a job of the app's one job pattern
(:class:`~srgan_desktop.ui.jobs.WorkerJobs`: progress on the bar, Cancel stops it between two
stimuli and nothing is created; closing the dialog cancels too)."""

from __future__ import annotations

import secrets
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QPlainTextEdit, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from srgan_desktop.mos.design import (BUILTIN_CONDITIONS, Condition, DesignError, STUDY_SCALES, StudyDesign,
                                      make_design, parse_condition)
from srgan_desktop.mos.stimuli import StimulusError, find_sources
from srgan_desktop.core.engine import CancelToken
from srgan_desktop.mos.store import create_study, slugify, studies_root
from srgan_desktop.ui.jobs import Report, WorkerJobs

__all__ = ["StudyEditor", "model_availability", "render_study"]


def model_availability() -> dict[str, str]:
    """Bundled model conditions that cannot be used yet → why (e.g. weights still training)."""
    from srgan_desktop.core.models import default_resolver
    from srgan_desktop.core.weights import WeightsError

    registry = default_resolver()
    missing: dict[str, str] = {}
    for key, cond in BUILTIN_CONDITIONS.items():
        if cond.kind != "model":
            continue
        try:
            entry = registry.find(cond.model)
        except WeightsError as exc:
            missing[key] = str(exc)
            continue
        if not entry.available:
            missing[key] = entry.reason
    return missing


def render_study(design: StudyDesign, sources: dict[str, Path], folder: Path, device: str,
                 token: CancelToken, report: Report) -> Path:
    """The editor's job: :func:`create_study` (in the worker thread); a cancel raises Cancelled."""
    try:
        study = create_study(design, sources, folder, device=device,
                             progress=lambda done, total, _what: report(done, total),
                             should_stop=lambda: token.cancelled)
    except StimulusError:
        token.raise_if_cancelled()  # "stimulus generation was cancelled" is the cancel itself
        raise
    path = Path(study.path)
    study.close()
    return path


class StudyEditor(QDialog):
    """Designs a study and creates it; ``created`` carries the new study's database path."""

    created = Signal(Path)

    def __init__(self, parent: QWidget | None = None, root: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New MOS study")
        self.root = root or studies_root()
        self.jobs = WorkerJobs(parent=self)
        self.sources: dict[str, Path] = {}

        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. BSD100 ×4 pilot")
        self.name_edit.textChanged.connect(self._update_folder)
        self.images_edit = QLineEdit()
        self.images_edit.setPlaceholderText("folder of HR source images")
        self.images_edit.editingFinished.connect(self._scan_images)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_images)
        images_row = QHBoxLayout()
        images_row.addWidget(self.images_edit, 1)
        images_row.addWidget(browse)
        self.images_label = QLabel("no images yet")

        conditions = QGroupBox("Conditions to rate")
        cond_layout = QVBoxLayout(conditions)
        self.condition_boxes: dict[str, QCheckBox] = {}
        missing = model_availability()
        for key, cond in BUILTIN_CONDITIONS.items():
            box = QCheckBox(cond.label + (" (hidden reference)" if cond.kind == "reference" else ""))
            box.setChecked(key not in missing)
            if key in missing:
                box.setEnabled(False)
                box.setToolTip(f"unavailable: {missing[key]}")
                box.setText(box.text() + " — unavailable")
            self.condition_boxes[key] = box
            cond_layout.addWidget(box)
        self.model_list = QListWidget()
        self.model_list.setMaximumHeight(80)
        add_model = QPushButton("Add model file…")
        add_model.clicked.connect(self._add_model)
        add_folder = QPushButton("Add results folder…")
        add_folder.setToolTip("images made elsewhere (another method, a paper's outputs), one per "
                              "source image and named like it")
        add_folder.clicked.connect(self._add_results_folder)
        remove_model = QPushButton("Remove")
        remove_model.clicked.connect(lambda: self.model_list.takeItem(self.model_list.currentRow()))
        model_row = QHBoxLayout()
        model_row.addWidget(add_model)
        model_row.addWidget(add_folder)
        model_row.addWidget(remove_model)
        model_row.addStretch(1)
        cond_layout.addWidget(QLabel("Your own models and results folders:"))
        cond_layout.addWidget(self.model_list)
        cond_layout.addLayout(model_row)

        self.calibration_spin = QSpinBox()
        self.calibration_spin.setRange(0, 100)
        self.calibration_spin.setValue(1)
        self.calibration_spin.setSuffix(" image(s)")
        self.calibration_spin.setToolTip("before rating, each rater sees the nearest-neighbour (score 1) "
                                         "and original (score 5) versions of this many images")
        self.replicate_spin = QSpinBox()
        self.replicate_spin.setRange(1, 10)
        self.replicate_spin.setToolTip("2 or more repeats every trial, for test–retest agreement")
        self.min_view_spin = QDoubleSpinBox()
        self.min_view_spin.setRange(0.0, 600.0)
        self.min_view_spin.setDecimals(1)
        self.min_view_spin.setSuffix(" s")
        self.paired_box = QCheckBox("Paired comparison (pick the better of two) instead of scores 1–5")
        self.reference_box = QCheckBox("Show the original above each pair")
        self.magnification_spin = QSpinBox()
        self.magnification_spin.setRange(1, 8)
        self.magnification_spin.setPrefix("×")
        self.magnification_spin.setToolTip("screen pixels per image pixel, the same for every stimulus "
                                           "(×1: one image pixel on one screen pixel)")
        self.scale_combo = QComboBox()
        for factor in STUDY_SCALES:
            self.scale_combo.addItem(f"×{factor}", factor)
        self.scale_combo.setCurrentIndex(STUDY_SCALES.index(4))
        self.scale_combo.setToolTip("LR made with the MATLAB bicubic ×1/N; every model must be ×N "
                                    "(the bundled SRResNet and SRGAN are ×4)")
        self.grey_spin = QDoubleSpinBox()
        self.grey_spin.setRange(0.0, 60.0)
        self.grey_spin.setDecimals(1)
        self.grey_spin.setSuffix(" s")
        self.grey_spin.setToolTip("a mid-grey screen between stimuli (ITU-T P.910)")
        self.break_spin = QSpinBox()
        self.break_spin.setRange(0, 100_000)
        self.break_spin.setSpecialValueText("no breaks")
        self.break_spin.setSuffix(" trials")
        self.instructions_edit = QPlainTextEdit()
        self.instructions_edit.setPlaceholderText("Rater instructions (empty: the built-in text)")
        self.instructions_edit.setMaximumHeight(70)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2 ** 31 - 1)
        self.seed_spin.setValue(secrets.randbelow(2 ** 31))
        self.device_edit = QLineEdit("auto")
        self.folder_label = QLabel("")
        self.folder_label.setWordWrap(True)
        folder_button = QPushButton("Change…")
        folder_button.clicked.connect(self._choose_root)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label, 1)
        folder_row.addWidget(folder_button)

        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Source images:", images_row)
        form.addRow("", self.images_label)
        form.addRow(conditions)
        for label, field in (("Calibration:", self.calibration_spin), ("Replicates:", self.replicate_spin),
                             ("Minimum viewing time:", self.min_view_spin), ("Study kind:", self.paired_box),
                             ("", self.reference_box), ("Scale:", self.scale_combo),
                             ("Magnification:", self.magnification_spin),
                             ("Grey between stimuli:", self.grey_spin), ("Break every:", self.break_spin),
                             ("Instructions:", self.instructions_edit), ("Seed:", self.seed_spin),
                             ("Device:", self.device_edit), ("Saved in:", folder_row)):
            form.addRow(label, field)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self._cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._update_folder()

    # ------------------------------------------------------------------ inputs
    def _browse_images(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of HR images", self.images_edit.text())
        if folder:
            self.images_edit.setText(folder)
            self._scan_images()

    def _scan_images(self) -> None:
        self.sources = {}
        text = self.images_edit.text().strip()
        if not text:
            self.images_label.setText("no images yet")
            return
        try:
            self.sources = find_sources(text)
        except DesignError as exc:
            self.images_label.setText(str(exc))
            return
        self.images_label.setText(f"{len(self.sources)} image(s): {', '.join(list(self.sources)[:6])}"
                                  + ("…" if len(self.sources) > 6 else ""))

    def _add_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model weights", "",
                                              "Weights (*.safetensors *.pth *.pt *.ckpt)")
        if path:
            self.add_model(Path(path))

    def add_model(self, path: Path) -> None:
        self.model_list.addItem(str(path))

    def _add_results_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of results made elsewhere")
        if folder:
            self.add_results_folder(Path(folder))

    def add_results_folder(self, folder: Path, key: str = "") -> None:
        """A folder of results as the condition ``KEY=DIR`` (KEY: the folder's name)."""
        self.model_list.addItem(f"{key or slugify(Path(folder).name)}={folder}")

    def _choose_root(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Where studies are saved", str(self.root))
        if folder:
            self.root = Path(folder)
            self._update_folder()

    def folder(self) -> Path:
        return self.root / slugify(self.name_edit.text() or "study")

    def _update_folder(self) -> None:
        self.folder_label.setText(str(self.folder()))

    def conditions(self) -> list[Condition]:
        chosen = [BUILTIN_CONDITIONS[key] for key, box in self.condition_boxes.items()
                  if box.isChecked() and box.isEnabled()]
        return chosen + [parse_condition(self.model_list.item(i).text())
                         for i in range(self.model_list.count())]

    def design(self) -> StudyDesign:
        """The design the form describes; raises :class:`DesignError` when it is incomplete."""
        if not self.sources:
            self._scan_images()
        return make_design(self.name_edit.text(), list(self.sources), self.conditions(),
                           replicates=self.replicate_spin.value(),
                           calibration=self.calibration_spin.value(),
                           min_view_s=self.min_view_spin.value(), seed=self.seed_spin.value(),
                           magnification=self.magnification_spin.value(),
                           scale=int(self.scale_combo.currentData()),
                           grey_s=self.grey_spin.value(),
                           instructions=self.instructions_edit.toPlainText(),
                           break_every=self.break_spin.value(),
                           kind="pc" if self.paired_box.isChecked() else "acr",
                           show_reference=self.reference_box.isChecked())

    # ------------------------------------------------------------------ create
    @property
    def busy(self) -> bool:
        """True while the stimuli are being rendered."""
        return self.jobs.busy

    def create(self) -> None:
        if self.busy:
            return
        try:
            design = self.design()
        except DesignError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText("Rendering stimuli…")
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.create_button.setEnabled(False)
        sources, folder, device = dict(self.sources), self.folder(), self.device_edit.text().strip() or "auto"
        self.jobs.start(lambda token, report: render_study(design, sources, folder, device, token, report),
                        self._on_created, self._on_failed, progress=self._on_progress,
                        cancelled=self._on_cancelled)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _finish_job(self) -> None:
        self.progress.setVisible(False)
        self.create_button.setEnabled(True)

    def _on_created(self, path: Path) -> None:
        self._finish_job()
        self.message.setText(f"Created {path}")
        self.created.emit(Path(path))
        self.accept()

    def _on_failed(self, message: str) -> None:
        self._finish_job()
        self.message.setText(f"Could not create the study: {message}")

    def _on_cancelled(self) -> None:
        self._finish_job()
        self.message.setText("Cancelled: no study was created.")

    def _cancel(self) -> None:
        if self.busy:
            self.jobs.cancel()
            self.message.setText("Cancelling…")
            return
        self.reject()

    def reject(self) -> None:
        """Esc or the window's close button: cancel the rendering first, close when idle."""
        if self.busy:
            self._cancel()
            return
        super().reject()

    def done(self, result: int) -> None:
        self.jobs.stop()  # no thread outlives the dialog
        super().done(result)
