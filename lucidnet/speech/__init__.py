"""Speech: spoken-digit recognition on FSDD, isolated (a CNN classifier of log-mels) and connected (a CRNN trained
with CTC), as recipes (``lucidnet train --dataset fsdd --model cnn|crnn-ctc``)."""
