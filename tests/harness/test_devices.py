"""The cuda pass's device placement, tested on the ``meta`` device, which every machine has.

On ``meta`` a tensor has a shape but no values, so these tests check what can be checked
without a GPU: new tensors land on the pass's device, leaves stay leaves, and random draws
consume the CPU generator exactly as the CPU pass does, so the values the cuda pass sees
are the CPU pass's values.
"""

import torch

from harness.devices import device_pass


def cpu_state_after(draw: "callable[[], object]") -> torch.Tensor:
    torch.manual_seed(0)
    draw()
    return torch.get_rng_state()


def test_new_tensors_go_to_the_pass_device() -> None:
    with device_pass("meta"):
        made = [torch.tensor([1.0]), torch.zeros(2), torch.ones(2, 3), torch.arange(3)]
    assert {t.device.type for t in made} == {"meta"}


def test_cpu_pass_changes_nothing() -> None:
    with device_pass("cpu"):
        assert torch.zeros(1).device.type == "cpu"


def test_random_factories_draw_from_the_cpu_generator() -> None:
    def draws() -> list[torch.Tensor]:
        return [torch.randn(3), torch.rand(2), torch.randint(0, 5, (4,)), torch.randperm(5)]

    on_cpu = cpu_state_after(draws)
    with device_pass("meta"):
        torch.manual_seed(0)
        placed = draws()
        on_meta = torch.get_rng_state()
    assert torch.equal(on_cpu, on_meta)
    assert {t.device.type for t in placed} == {"meta"}


def test_random_leaves_stay_leaves() -> None:
    with device_pass("meta"):
        w = torch.randn(5, 3, requires_grad=True)
    assert w.device.type == "meta" and w.is_leaf and w.requires_grad


def test_layer_initialisation_draws_from_the_cpu_generator() -> None:
    on_cpu = cpu_state_after(lambda: torch.nn.Linear(4, 2))
    with device_pass("meta"):
        torch.manual_seed(0)
        layer = torch.nn.Linear(4, 2)
        on_meta = torch.get_rng_state()
    assert layer.weight.device.type == "meta"
    assert torch.equal(on_cpu, on_meta)


def test_random_from_inputs_draws_on_the_cpu_and_follows_the_inputs() -> None:
    # Meta tensors hold no values to draw from, so the inputs here are CPU tensors; on
    # CUDA the same path moves them to the CPU, draws, and moves the result back.
    def draws() -> list[torch.Tensor]:
        return [
            torch.randn_like(torch.zeros(3, device="cpu")),
            torch.normal(torch.zeros(2, device="cpu"), torch.ones(2, device="cpu")),
            torch.nn.functional.dropout(torch.ones(4, device="cpu"), p=0.5),
        ]

    on_cpu = cpu_state_after(draws)
    torch.manual_seed(0)
    expected = draws()
    with device_pass("meta"):
        torch.manual_seed(0)
        got = draws()
        on_meta = torch.get_rng_state()
    assert torch.equal(on_cpu, on_meta)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))


def test_explicit_generator_or_device_is_respected() -> None:
    generator = torch.Generator().manual_seed(0)
    with device_pass("meta"):
        # What DataLoader's shuffling does: a CPU generator, so a CPU result.
        order = torch.randperm(4, generator=generator)
        on_cpu = torch.randn(2, device="cpu")
    assert order.device.type == "cpu" and on_cpu.device.type == "cpu"


def test_the_pass_ends_with_its_block() -> None:
    with device_pass("meta"):
        pass
    assert torch.zeros(1).device.type == "cpu"
    assert torch.randn(1).device.type == "cpu"
