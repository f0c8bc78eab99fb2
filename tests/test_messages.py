"""tfface.messages: the library names settings as arguments; the programs show them as their flags."""

import logging

from tfface import messages


def test_library_messages_name_arguments_and_programs_show_them_as_flags(capsys):
    said = "`batch_size=10` does not split over 4 replicas; lower `pk_k` (see `data_root`, `not_a_flag=3`)."
    assert messages.as_flags(said, {"batch_size", "pk_k", "data_root"}) == (
        "--batch_size=10 does not split over 4 replicas; lower --pk_k (see --data_root, `not_a_flag=3`).")
    assert str(messages.program_error(ValueError(said), {"pk_k"})).startswith("error: `batch_size=10` does not")
    logger = logging.getLogger("tfface")
    saved = logger.handlers[:], logger.level, logger.propagate
    try:
        messages.show_on_stdout({"pk_k"})
        messages.show_on_stdout({"pk_k"})  # a second program start replaces the handler, it does not add one
        messages.info("lower `pk_k` or 100% of `batch_size`")
        assert capsys.readouterr().out == "lower --pk_k or 100% of `batch_size`\n"
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
