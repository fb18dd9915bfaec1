"""The models repository's Step6 tutorial (tutorials/<model>_prod/Step6): test_tipc/test_serving_infer_python.sh."""
from .base import (CONVERT, Command, Dialect, DialectCase, client_command, config_flag, eval_words,
                   one_conversion, opt_devices, set_param)


class Step6(Dialect):
    """The models repository's tutorial: `--opt op.<name>.local_service_conf.devices:"0"|null` only; the
    service's own --opt (devices only), the client's --image_dir."""

    name = "Step6"
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--image_dir",
             *CONVERT}
    patterns = (r"--opt op\.\w+\.local_service_conf\.devices",)

    def build(self, entries):
        web = eval_words(entries.value("web_service"))
        image = entries.first("--image_dir")
        client = entries.value("pipline")
        cases = []
        for value, device, option in opt_devices(entries, self.patterns[0]):
            cases.append(DialectCase(device, device, {"devices": value},
                                     Command(web + (["--opt", option] if option else []), entries.value("serving_dir"),
                                             "python_server_{}.log".format(device)),
                                     [client_command(client, [set_param(image.key, image.value)] if image else [],
                                              "python_client_{}.log".format(device), entries.value("serving_dir"))]))
        model = entries.value("model_name")
        return self.config(entries, conversions=[one_conversion(entries, "python_trans_model_{}.log".format(model))],
                           cases=cases, service_config=config_flag(web),
                           # its tools/export_model.py's InputSpec has no name: Sequential's argument, input
                           seeded_input_name="input",
                           coverage="the tutorial's client prints its own reply format, not this harness's result "
                                    "lines")
