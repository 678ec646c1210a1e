//! How a dossier is shown: to its applicant (by code), to officers, and in the queue.

use q10_core_api::{
    DossierAction, DossierDocument, DossierHistoryEntry, DossierQueueItem, DossierStatus, PaymentStatus, ProcedureRef,
    PublicDossier, StaffApplicant, StaffDossier, WardRef,
};
use time::OffsetDateTime;

use super::rules;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::store::dossiers::{DossierActionRow, DossierRow};

fn status(s: &str) -> Result<DossierStatus> {
    DossierStatus::parse(s).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown dossier status {s}")))
}

fn entry(a: &DossierActionRow, staff: bool) -> Result<DossierHistoryEntry> {
    Ok(DossierHistoryEntry {
        action: DossierAction::parse(&a.action)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown dossier action {}", a.action)))?,
        status: status(&a.status_after)?,
        note: a.note.clone(),
        actor: staff.then(|| a.actor.clone()),
        public: staff.then_some(a.public),
        step_due: if staff { a.step_due_at } else { None },
        at: a.at,
    })
}

fn overdue(d: &DossierRow, now: OffsetDateTime) -> bool {
    d.is_open && d.due_at < now
}

async fn view(state: &AppState, d: &DossierRow, staff: bool) -> Result<PublicDossier> {
    let now = state.now();
    let actions = state.store.dossier_actions(d.id).await?;
    let st = status(&d.status)?;
    let supplement_note = (st == DossierStatus::SupplementRequested)
        .then(|| actions.iter().rev().find(|a| a.action == DossierAction::RequestSupplement.as_str()))
        .flatten()
        .map(|a| a.note.clone());
    let payment = state.store.dossier_payment(d.id).await?;
    let payment_reference = payment
        .filter(|p| {
            PaymentStatus::parse(&p.status).is_some_and(|s| s != PaymentStatus::Canceled && s != PaymentStatus::Failed)
        })
        .map(|p| p.reference);
    let history = actions.iter().filter(|a| staff || a.public).map(|a| entry(a, staff)).collect::<Result<Vec<_>>>()?;
    Ok(PublicDossier {
        code: d.code.clone(),
        procedure: ProcedureRef {
            code: d.procedure_code.clone(),
            name_vi: d.procedure_name_vi.clone(),
            name_en: d.procedure_name_en.clone(),
        },
        documents_required: super::required_documents(&d.procedure_documents)?,
        ward: WardRef { code: d.ward_code.clone(), name: d.ward_name.clone() },
        status: st,
        received_at: d.received_at,
        due_at: d.due_at,
        overdue: overdue(d, now),
        result_at: d.result_at,
        returned_at: (st == DossierStatus::Returned).then_some(d.closed_at).flatten(),
        fee: d.fee,
        fee_paid: d.fee_paid,
        payment_reference,
        supplement_note,
        history,
        rating: d.rating,
        can_rate: st == DossierStatus::Returned && d.rating.is_none(),
    })
}

/// The applicant's view.
pub async fn public_view(state: &AppState, d: &DossierRow) -> Result<PublicDossier> {
    view(state, d, false).await
}

/// The officers' view: the applicant (ID number masked), documents and the whole history.
pub async fn staff_view(state: &AppState, d: &DossierRow) -> Result<StaffDossier> {
    let applicant = super::open_applicant(&state.secrets.data_encryption, &d.applicant)?;
    let documents = state
        .store
        .dossier_documents(d.id)
        .await?
        .into_iter()
        .map(|r| DossierDocument {
            id: r.id,
            key: r.doc_key,
            filename: r.filename,
            content_type: r.content_type,
            size: r.size,
            uploaded_at: r.uploaded_at,
        })
        .collect();
    Ok(StaffDossier {
        id: d.id,
        public: view(state, d, true).await?,
        applicant: StaffApplicant {
            full_name: applicant.full_name,
            id_number_masked: rules::mask_id_number(&applicant.id_number),
            phone: applicant.phone,
            email: applicant.email,
            address: applicant.address,
        },
        handler: d.handler_name.clone(),
        step_due_at: d.step_due_at,
        documents,
    })
}

pub fn queue_item(d: &DossierRow, now: OffsetDateTime) -> Result<DossierQueueItem> {
    Ok(DossierQueueItem {
        id: d.id,
        code: d.code.clone(),
        procedure: d.procedure_code.clone(),
        procedure_name_vi: d.procedure_name_vi.clone(),
        ward: d.ward_code.clone(),
        ward_name: d.ward_name.clone(),
        status: status(&d.status)?,
        handler: d.handler_name.clone(),
        received_at: d.received_at,
        due_at: d.due_at,
        overdue: overdue(d, now),
        fee: d.fee,
        fee_paid: d.fee_paid,
    })
}
