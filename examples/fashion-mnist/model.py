"""The example's model and a trainer subclass written in the seed tutorial's style."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pipetune.torch import TorchTrainer, TrainingConfiguration


class SmallCNN(nn.Module):
    """Two conv blocks and a small classifier: about 0.2M parameters."""

    def __init__(self, channels: int = 16, hidden: int = 128, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * channels * 7 * 7, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class FashionTrainer(TorchTrainer):
    """A trainer as the seed tutorial writes it: its own train() reporting to Ray Tune."""

    def __init__(
        self,
        epochs: int,
        config: dict[str, Any] | TrainingConfiguration,
        strategy: str = "ddp",
        name: str | None = None,
        logger: Any = None,
    ) -> None:
        super().__init__(config=config, epochs=epochs, strategy=strategy, name=name, logger=logger)

    def create_model_loss_optimizer(self) -> None:
        model = SmallCNN()
        optimizer = torch.optim.Adam(model.parameters(), lr=self.config.optim_lr)
        self.model, self.optimizer, _ = self.strategy.distributed(model, optimizer)
        self.loss = nn.CrossEntropyLoss()

    def train(self) -> None:
        from ray import train

        device = self.strategy.device()
        for epoch in range(self.epochs):
            if self.strategy.global_world_size() > 1:
                self.set_epoch(epoch)
            self.model.train()
            for images, labels in self.train_dataloader:
                images, labels = images.to(device), labels.to(device)
                self.optimizer.zero_grad()
                loss = self.loss(self.model(images), labels)
                loss.backward()
                self.optimizer.step()

            self.model.eval()
            total_loss, correct, seen = 0.0, 0, 0
            with torch.no_grad():
                for images, labels in self.validation_dataloader:
                    images, labels = images.to(device), labels.to(device)
                    outputs = self.model(images)
                    total_loss += self.loss(outputs, labels).item() * len(labels)
                    correct += int((outputs.argmax(1) == labels).sum())
                    seen += len(labels)
            epoch_val_loss = total_loss / seen
            self.log(epoch_val_loss, "val_loss", kind="metric", step=epoch)
            self.log(correct / seen, "val_accuracy", kind="metric", step=epoch)

            # Report training metrics of last epoch to Ray
            train.report({"loss": epoch_val_loss, "val_accuracy": correct / seen})
