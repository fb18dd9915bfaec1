"""PaddleSeg: test_tipc/test_serving_infer_python.sh, test_tipc/serving_python."""
from .base import (CONVERT, Command, Dialect, DialectCase, client_command, config_flag, eval_words,
                   one_conversion, opt_devices, set_param)


class PaddleSeg(Dialect):
    """16 lines: the device key `--opt op.seg.local_service_conf.devices` (a key with a space), values
    "0"|null, and --input_name/--output_name passed to the service (--input_name to the client too). The
    service's --opt takes one string."""

    name = "PaddleSeg"
    known = {"model_name", "python", "trans_model", "serving_dir", "web_service", "pipline", "--img_path",
             "--input_name", "--output_name", *CONVERT}
    patterns = (r"--opt op\.\w+\.local_service_conf\.devices",)

    def build(self, entries):
        conversions = [one_conversion(entries, "python_trans_model.log")]
        web = eval_words(entries.value("web_service"))
        names = [set_param(k, entries.value(k)) for k in ("--input_name", "--output_name")]
        image = entries.first("--img_path")
        client = entries.value("pipline")
        cases = []
        for value, device, option in opt_devices(entries, self.patterns[0]):
            args = ([set_param(image.key, image.value)] if image else []) + [names[0]]
            cases.append(DialectCase(device, device, {"devices": value},
                                     Command(web + [n for n in names if n] + (["--opt", option] if option else []),
                                             entries.value("serving_dir"), "python_server_{}.log".format(device)),
                                     [client_command(client, args, "python_client_{}_batchsize_1.log".format(device),
                                              entries.value("serving_dir"))]))
        return self.config(entries, conversions=conversions, cases=cases, service_config=config_flag(web),
                           coverage="segmentation answers (label maps) are not classes and probabilities")
