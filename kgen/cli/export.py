"""Export a .keras model as a SavedModel, served without Keras or kgen.

Works on every backend: under PyTorch, kgen re-exports the model through a
TensorFlow process. Load the result with tf.saved_model.load(SAVED_MODEL) and
call its functions: generate(z) for GANs and DCGANs, generate(z, labels) for
conditional GANs, decode(z) and encode(images) for VAEs, stylize(content,
style, alpha) for AdaIN style networks.
"""

import argparse

from kgen.cli.arguments import add_subcommand, check_output_path

EPILOG = """\
examples:
  kgen export runs/dcgan/dcgan.keras saved_models/dcgan
  kgen export runs/style-network/adain.keras saved_models/adain --backend torch
"""


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "export", __doc__, common, epilog=EPILOG)
    parser.add_argument("model", metavar="MODEL", help="the .keras file")
    parser.add_argument(
        "saved_model",
        metavar="SAVED_MODEL",
        help="directory to write the SavedModel to",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    # Before loading the model: a bad target fails at once, in one line.
    check_output_path(args.saved_model, "SAVED_MODEL")
    from kgen import runs
    from kgen.cli.loading import load_keras_model
    from kgen.models import Model

    runs.refuse_to_overwrite(args.saved_model, args.overwrite)
    model = load_keras_model(
        args.model,
        want="a kgen GAN, DCGAN, ConditionalGAN, VAE or AdaINStyleTransfer",
        check=lambda model: isinstance(model, Model) and bool(model.export_endpoints()),
    )
    model.export(args.saved_model)  # prints where it wrote which signatures
