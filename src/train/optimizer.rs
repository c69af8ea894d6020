//! The optimiser a run trains with: one type for the loop, `nnlab bench` and user code, built
//! from an [`OptimizerConfig`] by [`OptimizerConfig::init`].
//!
//! Which implementation runs is the backend's business, decided here once: Adam is Burn's
//! `Adam` (tensor by tensor) on the CPU backends and [`FusedAdam`] (one fused update per
//! parameter: fewer kernel launches) where [`NetBackend::FUSED_ADAM`] says so; both compute
//! the same update (tests/suite/model.rs). SGD is Burn's.

use super::config::OptimizerConfig;
use super::fused_adam::{FusedAdam, FusedAdamRecord};
use crate::backend::{NetBackend, TrainBackend};
use crate::model::Net;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{Adam, AdamConfig, GradientsParams, MultiGradientsParams, Optimizer, Sgd, SgdConfig};
use burn::record::Record;
use burn::tensor::backend::AutodiffBackend;

/// The optimiser of a run on backend `B` for module `M` (see the module docs).
#[derive(Clone)]
pub enum NetOptimizer<B: AutodiffBackend, M: AutodiffModule<B>> {
    /// Burn's Adam, one parameter tensor at a time.
    Adam(OptimizerAdaptor<Adam, M, B>),
    /// Adam as one fused update of all parameters per step.
    FusedAdam(FusedAdam<B>),
    /// Burn's SGD, with or without momentum.
    Sgd(OptimizerAdaptor<Sgd<B::InnerBackend>, M, B>),
}

/// The saved state of Burn's optimiser `O` (per parameter; the same for every module type).
type AdaptorState<O, B> = <OptimizerAdaptor<O, Net<B>, B> as Optimizer<Net<B>, B>>::Record;

/// A saved [`NetOptimizer`] state: the field of the variant that was saved is set.
#[derive(Record)]
pub struct NetOptimizerRecord<B: AutodiffBackend> {
    /// Burn's Adam state, per parameter.
    pub adam: Option<AdaptorState<Adam, B>>,
    /// [`FusedAdam`]'s state.
    pub fused_adam: Option<FusedAdamRecord<B>>,
    /// Burn's SGD state, per parameter.
    pub sgd: Option<AdaptorState<Sgd<B::InnerBackend>, B>>,
}

/// Burn's Adam configured as PyTorch's `torch.optim.Adam` defaults: betas 0.9 / 0.999, eps
/// 1e-8 (Burn's own default eps is 1e-5), no weight decay. [`OptimizerConfig::Adam`] runs it
/// (or the same update fused, [`FusedAdam::pytorch`]).
pub fn pytorch_adam() -> AdamConfig {
    AdamConfig::new().with_beta_1(0.9).with_beta_2(0.999).with_epsilon(1e-8)
}

impl OptimizerConfig {
    /// The optimiser this configuration names, as backend `B` runs it best.
    pub fn init<B: TrainBackend, M: AutodiffModule<B>>(&self) -> NetOptimizer<B, M> {
        match *self {
            OptimizerConfig::Adam if <B::InnerBackend as NetBackend>::FUSED_ADAM => {
                NetOptimizer::FusedAdam(FusedAdam::pytorch())
            }
            OptimizerConfig::Adam => NetOptimizer::Adam(pytorch_adam().init()),
            OptimizerConfig::Sgd { momentum } => {
                let m = (momentum > 0.0).then(|| MomentumConfig::new().with_momentum(momentum).with_dampening(0.0));
                NetOptimizer::Sgd(SgdConfig::new().with_momentum(m).init())
            }
        }
    }
}

impl<B: AutodiffBackend, M: AutodiffModule<B>> Optimizer<M, B> for NetOptimizer<B, M>
where
    B::InnerBackend: NetBackend,
{
    type Record = NetOptimizerRecord<B>;

    fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        match self {
            NetOptimizer::Adam(o) => o.step(lr, module, grads),
            NetOptimizer::FusedAdam(o) => Optimizer::<M, B>::step(o, lr, module, grads),
            NetOptimizer::Sgd(o) => o.step(lr, module, grads),
        }
    }

    fn step_multi(&mut self, lr: f64, module: M, grads: MultiGradientsParams) -> M {
        match self {
            NetOptimizer::Adam(o) => o.step_multi(lr, module, grads),
            NetOptimizer::FusedAdam(o) => Optimizer::<M, B>::step_multi(o, lr, module, grads),
            NetOptimizer::Sgd(o) => o.step_multi(lr, module, grads),
        }
    }

    fn to_record(&self) -> Self::Record {
        let mut record = NetOptimizerRecord { adam: None, fused_adam: None, sgd: None };
        match self {
            NetOptimizer::Adam(o) => record.adam = Some(o.to_record()),
            NetOptimizer::FusedAdam(o) => record.fused_adam = Some(Optimizer::<M, B>::to_record(o)),
            NetOptimizer::Sgd(o) => record.sgd = Some(o.to_record()),
        }
        record
    }

    /// Loads the state saved by the same kind of optimiser; a record of another kind (or an
    /// empty one) leaves this optimiser as it is.
    fn load_record(self, record: Self::Record) -> Self {
        match (self, record) {
            (NetOptimizer::Adam(o), NetOptimizerRecord { adam: Some(r), .. }) => NetOptimizer::Adam(o.load_record(r)),
            (NetOptimizer::FusedAdam(o), NetOptimizerRecord { fused_adam: Some(r), .. }) => {
                NetOptimizer::FusedAdam(Optimizer::<M, B>::load_record(o, r))
            }
            (NetOptimizer::Sgd(o), NetOptimizerRecord { sgd: Some(r), .. }) => NetOptimizer::Sgd(o.load_record(r)),
            (unchanged, _) => unchanged,
        }
    }
}
