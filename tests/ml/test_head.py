import torch

from training.ml.head import RowAdam


def test_row_adam_updates_as_sparse_adam_does() -> None:
    # given: the same table, once behind torch's SparseAdam, once behind RowAdam
    torch.manual_seed(0)
    start = torch.randn(50, 4)
    bag = torch.nn.EmbeddingBag(50, 4, mode="sum", sparse=True)
    bag.weight.data.copy_(start)
    reference = torch.optim.SparseAdam([bag.weight], lr=0.01)
    table = start.clone()
    rows = RowAdam([table], lr=0.01)
    offsets = torch.tensor([0, 10, 20])

    for _ in range(20):
        # when: both take the same steps, RowAdam on the touched rows only
        idx, weights, target = torch.randint(0, 50, (30,)), torch.rand(30), torch.randn(3, 4)
        reference.zero_grad()
        ((bag(idx, offsets, per_sample_weights=weights) - target) ** 2).sum().backward()
        reference.step()
        touched, local = torch.unique(idx, return_inverse=True)
        sub = table[touched].requires_grad_()
        out = torch.nn.functional.embedding_bag(
            local, sub, offsets, mode="sum", per_sample_weights=weights
        )
        ((out - target) ** 2).sum().backward()
        rows.step(touched, [sub.grad])

    # then
    assert torch.allclose(bag.weight.detach(), table, atol=1e-6)
