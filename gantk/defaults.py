"""Every default a user can see, in one place: the Python API's signatures and the CLI's options
(their help text included) read them from here, so the two never drift. No torch here: the CLI
imports it. Why each value was chosen is in docs/benchmarks.md.
"""

# -- training: gantk train, TrainOptions ----------------------------------------------------
LR = 2e-4
BETAS = (0.5, 0.999)
EMA_DECAY = 0.999
SEED = 0
#: cuda when torch sees a GPU, else cpu
DEVICE = "auto"
NORMALIZATION = "quantile"
#: quantile normalization: a value holding this share of a numeric column gets its own category
SPIKE_SHARE = 0.1
#: tables: widest one-hot block; a column with more values keeps its most frequent ones
MAX_CATEGORIES = 50
CLASS_SAMPLING = "frequency"
#: by kind of data. Tables: one recipe for train and augment, chosen on development tables
#: (benchmarks/table_fidelity.py --group choose): WGAN-GP with D judging packs of 10 rows
#: (PacGAN) and CTGAN's conditional vector over every categorical column, 2,000 steps. Images:
#: DCGAN's non-saturating loss on single images. One fixed budget for every size.
BY_KIND = {
    "table": {"architecture": "mlp", "batch_size": 500, "latent_dim": 128, "steps": 2000,
              "loss": "wgan-gp", "pac": 10, "category_conditioning": True},
    "image": {"architecture": "dcgan", "batch_size": 64, "latent_dim": 100, "steps": 1500,
              "loss": "ns", "pac": 1, "category_conditioning": False},
}
#: what reads D's logit of one row (anomaly scores, the augmenter's filter) trains with: a loss
#: whose logit is a log density ratio, single rows, no conditional vector
PER_ROW = {"loss": "ns", "pac": 1, "category_conditioning": False}

#: tables with --early-stop: train until D tells its training rows from held-out real rows
#: (gantk.train.budget): ROC-AUC above the threshold at ``PATIENCE`` checks in a row, checked
#: every ``CHECK_EVERY`` steps, on this share of the rows (within the bounds) held out of training.
#: Chosen on development tables (benchmarks/train_budget.py); not the default, which it did not beat
STOP_THRESHOLD = 0.9
STOP_PATIENCE = 2
STOP_CHECK_EVERY = 100
STOP_HELD_OUT_SHARE = 0.1
STOP_HELD_OUT_FEWEST = 20
STOP_HELD_OUT_MOST = 1000
#: below this many training rows left, nothing is held out and the cap is the budget
STOP_MIN_TRAINING_ROWS = 100

# -- sampling: gantk sample ------------------------------------------------------------------
#: model directories sample on the CPU: small batches gain nothing from a GPU, and CPU rows
#: are the same on every machine
SAMPLE_DEVICE = "cpu"
#: exported files: onnxruntime's CUDA provider when installed, else CPU
PROVIDER = "auto"

# -- detection: gantk detect, GANDetector ------------------------------------------------------
#: by kind of data, each chosen on data the headline figures never saw: tables on the choose sets
#: (benchmarks/detect_choose.py: k-NN to G's rows and to the training rows; 500 steps scored alike
#: in twice the time), images on the choose digits (benchmarks/detect_mnist.py)
DETECT_BY_KIND = {
    "table": {"scorer": "gknn", "steps": 250, "batch_size": 256},
    "image": {"scorer": "izif", "steps": 300, "batch_size": 64},
}
#: the expected share of outliers, which sets the threshold (PyOD's default; the CLI's too)
CONTAMINATION = 0.1

# -- augmentation: gantk augment, GANAugmenter -------------------------------------------------
#: tables: the training recipe (BY_KIND), classes drawn by CTGAN's log-frequency rule; the
#: discriminator filter: PER_ROW
AUGMENT_CLASS_SAMPLING = "log"
#: tables: the label model from this many training rows on (it hurt on small sets)
LABEL_MODEL_MIN_ROWS = 5000
AUGMENT_FILTER = "none"
#: with a report: the share of rows held out of training to measure privacy and utility
HOLDOUT = 0.2
MARKER = "synthetic"
