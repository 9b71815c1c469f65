import pytest
import torch

from genpipe.training import DeviceUnavailableError, resolve_device, torch_device


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def one_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def test_cpu_is_always_available():
    assert torch_device("cpu") == torch.device("cpu")
    assert resolve_device("cpu") == ("cpu", 1)


def test_auto_falls_back_to_cpu_without_cuda(no_cuda, monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert torch_device("auto") == torch.device("cpu")


def test_auto_takes_cuda_when_present(one_cuda):
    assert torch_device("auto") == torch.device("cuda", 0)
    assert resolve_device("auto") == ("gpu", [0])


@pytest.mark.parametrize("spec", ["cuda", "cuda:0"])
def test_cuda_asked_for_but_absent_is_a_clear_error(no_cuda, spec):
    with pytest.raises(DeviceUnavailableError,
                       match=rf"device='{spec}'.*torch.cuda.is_available\(\) is False"):
        torch_device(spec)


def test_cuda_index_out_of_range(one_cuda):
    with pytest.raises(DeviceUnavailableError, match="only 1 CUDA device"):
        torch_device("cuda:1")
    with pytest.raises(DeviceUnavailableError, match="2 CUDA device"):
        resolve_device("cuda:0", devices=2)


def test_cuda_index_selects_lightning_devices(one_cuda):
    assert resolve_device("cuda:0") == ("gpu", [0])


@pytest.mark.parametrize("spec", ["gpu", "CUDA", "cuda:", "tpu", ""])
def test_malformed_spec(spec):
    with pytest.raises(ValueError, match="device must be"):
        torch_device(spec)


def test_several_cpu_devices_are_processes():
    assert resolve_device("cpu", devices=2) == ("cpu", 2)


def test_several_mps_devices_are_refused(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    with pytest.raises(DeviceUnavailableError, match="devices=2 on mps"):
        resolve_device("mps", devices=2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_real_cuda_device():
    assert torch_device("cuda").type == "cuda"
